"""Detector quality on generated held-out strips after N minutes of training (docs/models.md "Training
template"): precision and recall at IoU 0.5 (score ≥ 0.3), mAP@0.5, on the CPU or a GPU when visible.

    .venv/bin/python bench/detector.py                     # 5 minutes, 48 training strips, 16 held out
    .venv/bin/python bench/detector.py --minutes 2 --train 24 --held-out 8 -- --threads 2

Writes a COCO export's layout of generated strips (training/detector/synthetic.py; held-out strips
come from seeds the training never sees) under var/bench/detector-<pid>/, runs examples/train_detector.py
on it exactly as a job does (ATELIER_INPUT_DATA, ATELIER_OUTPUT_DIR; anything after -- goes to it) and
prints its metrics.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--train", type=int, default=48)
    parser.add_argument("--held-out", type=int, default=16)
    parser.add_argument("--width", type=int, default=480)
    parser.add_argument("--height", type=int, default=2400)
    parser.add_argument("rest", nargs="*", help="arguments for examples/train_detector.py")
    args = parser.parse_args()
    from training.detector.synthetic import write_coco

    folder = ROOT / "var" / "bench" / f"detector-{os.getpid()}"
    data, outputs = folder / "data", folder / "outputs"
    write_coco(
        data,
        {"train": list(range(args.train)), "val": list(range(10_000, 10_000 + args.held_out))},
        width=args.width,
        height=args.height,
    )
    env = os.environ | {"ATELIER_INPUT_DATA": str(data), "ATELIER_OUTPUT_DIR": str(outputs)}
    command = [
        sys.executable,
        "examples/train_detector.py",
        "--steps",
        "100000",
        "--max-seconds",
        str(args.minutes * 60),
    ]
    run = subprocess.run([*command, *args.rest], env=env, cwd=ROOT, capture_output=True, text=True)
    if run.returncode:
        sys.exit(run.stdout[-2000:] + run.stderr[-2000:])
    metrics = json.loads((outputs / "metrics.json").read_text())
    print(json.dumps(metrics))
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
