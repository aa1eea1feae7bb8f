"""The predict endpoint with a warm worker (docs/models.md "Serving"): one 800 × 1,280 tile, round trip
(client sends → client has the shapes) against the worker's own inference time, p50 and p95.

    .venv/bin/python bench/serving.py --service            # PostgreSQL + Redis (127.0.0.1)
    .venv/bin/python bench/serving.py                      # embedded: SQLite + filesystem broker
    options: --requests 40 --warmup 3

Starts its own database (var/bench-serving/ or the PostgreSQL database `atelier_bench_serving`), the node
worker (which consumes `inference`) and uvicorn as subprocesses, registers an untrained detector of the
template's default size (timing, not quality) as version 1 with alias `production`, sends the warm-up
requests (torch's import and the model's load happen there), then the measured ones one at a time.
Target (issue 22): round trip ≤ inference + 50 ms. Results go in docs/benchmarks.md.
"""

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from bench.harness import UVICORN_OPTIONS, stack_environment, stack_reset  # noqa: E402
from bench.jobs import percentile  # noqa: E402

VAR = ROOT / "var" / "bench-serving"
DATABASE = "atelier_bench_serving"
REDIS_DB = 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(env: dict, port: int) -> list[subprocess.Popen]:
    uvicorn = str(Path(sys.executable).parent / "uvicorn")
    commands = [
        [sys.executable, "manage.py", "node_worker"],
        [uvicorn, "--host", "127.0.0.1", "--port", str(port), *UVICORN_OPTIONS, "portal.asgi:application"],
    ]
    logs = [open(VAR / f"proc{i}.log", "wb") for i in range(len(commands))]
    return [
        subprocess.Popen(c, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for c, log in zip(commands, logs)
    ]


def seed() -> str:
    """A researcher's token, and model `bench-detector` version 1 (alias production) in model storage."""
    import hashlib

    import torch
    from django.contrib.auth import get_user_model

    from portal.accounts.services import api_token_create
    from portal.teams.models import Role
    from portal.teams.services import membership_set, team_create
    from training.detector.model import CentreDetector, DetectorConfig
    from training.models import FileRole, ModelAlias, ModelFile, ModelVersion, RegisteredModel
    from training.selectors.registry import version_folder

    team = team_create(name="Bench")
    user = get_user_model().objects.create(username="bench")
    membership_set(team=team, user=user, roles={Role.RESEARCHER})
    model = RegisteredModel.objects.create(team=team, name="bench-detector", last_version_number=1)
    version = ModelVersion.objects.create(model=model, number=1, format="torch_state_dict")
    folder = version_folder(version=version)
    folder.mkdir(parents=True)
    config = DetectorConfig(classes=("panel", "speech_bubble", "text"))
    torch.manual_seed(0)
    torch.save(CentreDetector(config).state_dict(), folder / "checkpoint.pt")
    (folder / "config.json").write_text(json.dumps(config.to_dict()))
    for role, name in ((FileRole.CHECKPOINT, "checkpoint.pt"), (FileRole.CONFIG, "config.json")):
        data = (folder / name).read_bytes()
        ModelFile.objects.create(
            version=version,
            role=role,
            name=name,
            stored_name=name,
            sha256=hashlib.sha256(data).hexdigest(),
            byte_size=len(data),
        )
    ModelAlias.objects.create(model=model, name="production", version=version)
    _row, secret = api_token_create(user=user, name="bench", expires_in_days=1)
    return secret


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", action="store_true")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    stack_reset(var=VAR, service=args.service, database=DATABASE, redis_db=REDIS_DB)
    extra = {
        "ATELIER_SIM_FLEET": "1x1:A100-80GB",
        "ATELIER_JOB_WORKDIR_ROOT": str(VAR),
        "ATELIER_DEMO_TRAINING": "0",
        "ATELIER_PREDICT_WAIT_SECONDS": "60",
    }
    env = stack_environment(var=VAR, service=args.service, database=DATABASE, redis_db=REDIS_DB, extra=extra)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    secret = seed()
    port = free_port()
    processes = start(env, port)
    try:
        run(args, f"http://127.0.0.1:{port}", secret)
    finally:
        for process in processes:
            os.killpg(process.pid, 15)


def run(args, url: str, secret: str) -> None:
    import httpx

    from training.detector.synthetic import strip

    image, _ = strip(1, width=800, height=1280)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    body = buffer.getvalue()
    headers = {"Authorization": f"Token {secret}", "Content-Type": "image/png"}
    with httpx.Client(timeout=120) as client:
        deadline = time.monotonic() + 120
        while True:
            try:
                client.get(f"{url}/healthz")
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        round_trips, inference = [], []
        for number in range(args.warmup + args.requests):
            started = time.perf_counter()
            answer = client.post(
                f"{url}/api/v1/models/bench-detector@production/predict/", content=body, headers=headers
            )
            elapsed = (time.perf_counter() - started) * 1000
            assert answer.status_code == 200 and answer.json()["state"] == "succeeded", answer.text[:500]
            if number >= args.warmup:
                round_trips.append(elapsed)
                inference.append(answer.json()["inference_ms"])
    overhead = [r - i for r, i in zip(round_trips, inference)]
    print(
        f"{'service' if args.service else 'embedded'} mode, {args.requests} requests, 800 x 1280 PNG ({len(body)} bytes)"
    )
    for name, values in (("round trip", round_trips), ("inference", inference), ("overhead", overhead)):
        print(f"{name:>10}: p50 {statistics.median(values):7.1f} ms  p95 {percentile(values, 0.95):7.1f} ms")
    gap = percentile(round_trips, 0.95) - percentile(inference, 0.95)
    print(f"round trip p95 - inference p95 = {gap:.1f} ms (target ≤ 50 ms)")


if __name__ == "__main__":
    main()
