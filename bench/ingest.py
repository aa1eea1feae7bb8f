"""Import N generated 800 x 4,000 strips through the API end to end: images/s and CPU-s per image.

    .venv/bin/python bench/ingest.py                   # 200 strips, batches of 50, SQLite
    .venv/bin/python bench/ingest.py --count 1000 --batch 100

A fresh SQLite database and media folder under var/bench/ingest-<pid>/, migrated. This process
POSTs the strips to /api/v1/datasets/{id}/uploads/ in batches through Django's test client (URL
routing, authentication, multipart parsing, the request's cheap checks, staging, the job rows);
one real Celery worker subprocess (`celery worker --pool threads`, as the node worker runs it)
does the rest: full decode, re-encode to PNG, sha256 + dHash, dedup, original kept, DZI tiles
and thumbnail, rows and realtime events. The clock runs from the first POST until every import
job has succeeded. CPU seconds = this process (requests) + the worker (its /proc times).

The strips are seeded line art (panels, strokes, flat colours, a little noise), each distinct.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def strip_png(seed: int, width: int = 800, height: int = 4000) -> bytes:
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    y = 40
    while y < height - 200:
        panel = rng.randint(300, 900)
        bottom = min(y + panel, height - 40)
        draw.rectangle(
            (40, y, width - 40, bottom), fill=tuple(rng.randint(150, 255) for _ in range(3)), outline=(0, 0, 0), width=4
        )
        for _ in range(25):
            x0, y0 = rng.randint(60, width - 60), rng.randint(y, bottom)
            draw.line((x0, y0, x0 + rng.randint(-200, 200), y0 + rng.randint(-150, 150)), fill=(20, 20, 20), width=3)
        draw.ellipse(
            (rng.randint(80, 400), y + 30, rng.randint(450, width - 80), y + 150),
            fill=(255, 255, 255),
            outline=(0, 0, 0),
            width=3,
        )
        y = bottom + rng.randint(60, 200)
    noise = Image.effect_noise((width, height), 6).convert("RGB")
    image = Image.blend(image, noise, 0.04)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def setup_environment(var_dir: Path) -> None:
    os.environ.update(
        ATELIER_VAR_DIR=str(var_dir),
        DATABASE_URL=f"sqlite:///{var_dir / 'bench.sqlite3'}",
        DJANGO_SETTINGS_MODULE="portal.settings",
        ATELIER_FAST_PASSWORD_HASHER="1",
        ATELIER_GPU_BACKEND="simulated",
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
    )
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        os.environ.pop(name, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1, help="worker thread slots (image work is serialised)")
    args = parser.parse_args()

    var_dir = ROOT / "var" / "bench" / f"ingest-{os.getpid()}"
    var_dir.mkdir(parents=True)
    setup_environment(var_dir)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            str(args.threads),
            "--queues",
            "default",
            "--loglevel",
            "WARNING",
            "--hostname",
            f"bench-ingest-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=open(var_dir / "worker.log", "wb"),
    )
    try:
        print(json.dumps(run(args, worker), indent=2))
    finally:
        worker.terminate()
        worker.wait(30)
        shutil.rmtree(var_dir, ignore_errors=True)


def run(args, worker) -> dict:
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient

    from labeling.models import ImportJob, ImportState, Slice
    from labeling.services.datasets import dataset_create
    from portal.teams.models import Membership, Team

    user = get_user_model().objects.create_user("bench", password="bench")
    team = Team.objects.create(name="Bench", slug="bench")
    Membership.objects.create(team=team, user=user, is_researcher=True)
    dataset = dataset_create(user=user, team_id=team.pk, name="bench")
    print(f"generating {args.count} strips of 800 x 4000 ...", file=sys.stderr)
    strips = [strip_png(seed) for seed in range(args.count)]
    time.sleep(3)  # let the worker start before the clock does
    client = APIClient()
    client.force_authenticate(user)
    worker_cpu_before, own_before = process_cpu_seconds(worker.pid), time.process_time()
    started = time.perf_counter()
    request_seconds = 0.0
    for first in range(0, args.count, args.batch):
        files = [
            SimpleUploadedFile(f"strip_{i:05d}.png", strips[i], "image/png")
            for i in range(first, min(first + args.batch, args.count))
        ]
        before = time.perf_counter()
        response = client.post(f"/api/v1/datasets/{dataset.pk}/uploads/", {"files": files}, format="multipart")
        request_seconds += time.perf_counter() - before
        assert response.status_code == 202, response.content
    while ImportJob.objects.exclude(state=ImportState.SUCCEEDED).exists():
        if worker.poll() is not None:
            raise SystemExit("the worker exited; see its log")
        time.sleep(0.2)
    wall = time.perf_counter() - started
    cpu = (process_cpu_seconds(worker.pid) - worker_cpu_before) + (time.process_time() - own_before)
    accepted = Slice.objects.count()
    assert accepted == args.count, f"{accepted} of {args.count} accepted"
    return {
        "images": args.count,
        "batch": args.batch,
        "worker_threads": args.threads,
        "mean_png_bytes": round(sum(map(len, strips)) / len(strips)),
        "wall_seconds": round(wall, 2),
        "images_per_second": round(args.count / wall, 2),
        "cpu_seconds_per_image": round(cpu / args.count, 3),
        "request_seconds_per_image": round(request_seconds / args.count, 4),
    }


if __name__ == "__main__":
    main()
