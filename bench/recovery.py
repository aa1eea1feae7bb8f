"""Recovery times of the fault drills (tests/scheduler/drills), in service mode, as medians.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \\
    REDIS_URL=redis://127.0.0.1:6379/1 .venv/bin/python bench/recovery.py --runs 3

Each run is one pytest session of the drills (real workers, a TCP proxy in front of PostgreSQL that
the test cuts, SIGKILL); the drills append what they measured to a report file.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit(
            "bench/recovery.py needs service mode: set DATABASE_URL, CELERY_BROKER_URL and REDIS_URL (see its docstring)"
        )
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as report:
        path = report.name
    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs}", flush=True)
        subprocess.run(
            [str(ROOT / ".venv/bin/pytest"), "-q", "-p", "no:cacheprovider", "tests/scheduler/drills"],
            cwd=ROOT,
            env={**os.environ, "ATELIER_DRILL_REPORT": path},
            check=True,
        )
    measured: dict[tuple[str, str], list[float]] = defaultdict(list)
    for line in Path(path).read_text().splitlines():
        row = json.loads(line)
        drill = row.pop("drill")
        for name, value in row.items():
            measured[(drill, name)].append(value)
    print("\n| drill | measure | median (s) | runs |\n|---|---|---|---|")
    for (drill, name), values in sorted(measured.items()):
        print(f"| {drill} | {name.replace('_', ' ')} | {statistics.median(values):.2f} | {len(values)} |")
    Path(path).unlink()


if __name__ == "__main__":
    main()
