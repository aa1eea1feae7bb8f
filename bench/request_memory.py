"""Peak memory of the web process for one large request: refused past its route's limit, and an upload.

    .venv/bin/python bench/request_memory.py                  # 10, 30 and 60 MB
    .venv/bin/python bench/request_memory.py --sizes-mb 60 --server daphne   # the server before uvicorn

A fresh SQLite database under var/bench/ (embedded mode), migrated, with one researcher, an API
token and a dataset. For each size and each kind of request a new web process starts (the command
`make run` uses), answers one warm-up call, and its resident memory is read (VmRSS, the baseline);
then one request of that size is sent and, once answered, the process's peak resident memory since
start (VmHWM). Reported: peak - baseline, and that over the body's size (target: at most 2).

- json: `POST /api/v1/bookings/` with a JSON body, past the route's limit (2.5 MB): refused with 413
  by portal/body_limit.py from its Content-Length, before Django reads it.
- upload: `POST /api/v1/datasets/{id}/uploads/` with one PNG of random pixels of about that size in
  a multipart body, within the route's limit: Django reads and parses it (files past 2.5 MB spool
  to disk), the service checks and stages it (202), or refuses a file past the 50 MiB per-file
  limit (413). No worker runs: the import job stays queued.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.connections import _auth, _free_port, _start_web, _wait_answering  # noqa: E402
from bench.harness import django_migrated, fresh_database_env  # noqa: E402

MB = 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[10, 30, 60])
    parser.add_argument("--server", choices=["uvicorn", "daphne"], default="uvicorn")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_seed()))
        return
    env = fresh_database_env(name="request_memory", database="sqlite")
    env["ALLOWED_HOSTS"] = "127.0.0.1"
    seeded = subprocess.run(
        [sys.executable, __file__, "--child"], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    )
    seed = json.loads(seeded.stdout.strip().splitlines()[-1])
    rows = [_measure(env, seed, size_mb, kind, args.server) for size_mb in args.sizes_mb for kind in ("json", "upload")]
    print("| request | body | answer | baseline RSS | peak RSS | peak - baseline | ÷ body |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['kind']} | {row['size_mb']} MB | {row['status']} | {row['baseline_mb']:.0f} MB | "
            f"{row['peak_mb']:.0f} MB | {row['growth_mb']:.0f} MB | {row['growth_mb'] / row['size_mb']:.2f} |"
        )
    print(json.dumps(rows))


def _seed() -> dict:
    """In the child: migrate, and make a researcher with a token and a dataset."""
    django_migrated()
    from labeling.services.datasets import dataset_create
    from portal.accounts.models import User
    from portal.accounts.services import api_token_create
    from portal.teams.models import Membership, Team

    user = User.objects.create_user(username="bench", password="bench-password-1")
    team = Team.objects.create(name="Bench", slug="bench")
    Membership.objects.create(team=team, user=user, is_researcher=True)
    dataset = dataset_create(user=user, team_id=team.pk, name="bench")
    _row, secret = api_token_create(user=user, name="bench", expires_in_days=1)
    return {"token": secret, "dataset": dataset.pk}


def _measure(env: dict, seed: dict, size_mb: int, kind: str, server_name: str) -> dict:
    port = _free_port()
    server = _start_web(port, env, server_name)
    try:
        _wait_answering(port, seed["token"])
        baseline = _status_kb(server.pid, "VmRSS")
        url = f"http://127.0.0.1:{port}"
        if kind == "json":
            body = json.dumps({"note": "x" * (size_mb * MB - 12)}).encode()
            response = httpx.post(
                f"{url}/api/v1/bookings/",
                content=body,
                headers={**_auth(seed["token"]), "Content-Type": "application/json"},
                timeout=300,
            )
        else:
            data = _random_png(size_mb * MB)
            response = httpx.post(
                f"{url}/api/v1/datasets/{seed['dataset']}/uploads/",
                files={"files": ("big.png", data, "image/png")},
                headers=_auth(seed["token"]),
                timeout=300,
            )
        peak = _status_kb(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=20)
    return {
        "kind": kind,
        "size_mb": size_mb,
        "status": response.status_code,
        "baseline_mb": baseline / 1024,
        "peak_mb": peak / 1024,
        "growth_mb": max(0, peak - baseline) / 1024,
    }


def _random_png(size: int) -> bytes:
    """A PNG of random pixels, which do not compress: about `size` bytes, a real image the checks accept."""
    from PIL import Image

    side = int((size / 3) ** 0.5)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, format="PNG", compress_level=0)
    return buffer.getvalue()


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


if __name__ == "__main__":
    main()
