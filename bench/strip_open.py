"""Time from opening an 800 x 60,000 strip in the workspace to its first tiles painted, in Chromium.

    .venv/bin/python bench/strip_open.py              # 10 cold and 10 warm opens
    .venv/bin/python bench/strip_open.py --runs 5 --height 20000

A fresh SQLite database under var/bench/strip_open/ is migrated; one generated strip (panels drawn
all the way down) goes through the real ingestion (decode, re-encode, thumbnail, Deep Zoom tiles);
one task on it is assigned to a bench user. daphne serves the portal; Playwright drives the system
Chromium (/usr/bin/chromium). Each run opens /label/<task>/ and records, from the page's own
navigation start (performance.now()), the moment the viewer reports its first tile loaded and one
animation frame has passed (the tile is on the canvas). "Cold" runs use a new browser context each
time (empty HTTP cache); "warm" runs reload in one context. Target: <= 1 s.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = ROOT / "var" / "bench" / "strip_open"
PASSWORD = "bench-strip-open"

FIRST_TILE_PAINTED = """() => new Promise((resolve) => {
  const viewer = document.getElementById("viewer") || document.querySelector("[data-tiles-loaded]");
  const check = () => {
    const box = document.getElementById("viewer") || document.querySelector("[data-tiles-loaded]");
    if (box && Number(box.dataset.tilesLoaded || 0) >= 1) {
      requestAnimationFrame(() => resolve(performance.now()));
    } else {
      setTimeout(check, 5);
    }
  };
  check();
})"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--height", type=int, default=60_000)
    args = parser.parse_args()
    env = _environment()
    task_id = _prepare(env, height=args.height)
    port = _free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "daphne"), "-b", "127.0.0.1", "-p", str(port), "portal.asgi:application"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/accounts/login/")
        result = _measure(f"http://127.0.0.1:{port}", task_id, runs=args.runs)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(json.dumps({"strip": f"800x{args.height}", **result}, indent=1))


def _environment() -> dict:
    shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True)
    env = dict(
        os.environ,
        ATELIER_VAR_DIR=str(VAR),
        DATABASE_URL=f"sqlite:///{VAR / 'db.sqlite3'}",
        LOG_LEVEL="ERROR",
        DJANGO_SETTINGS_MODULE="portal.settings",
        ATELIER_FAST_PASSWORD_HASHER="1",
    )
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    return env


def _prepare(env: dict, *, height: int) -> int:
    """Migrate and ingest in a child process with the bench environment; returns the task id."""
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from bench.strip_open import _seed; print(_seed({height}))"
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1])


def _seed(height: int) -> int:
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image, ImageDraw

    from labeling.models import Task
    from labeling.services.annotation_tasks import task_assign, tasks_create
    from labeling.services.datasets import dataset_create
    from labeling.services.imports import upload_import_create
    from labeling.services.ingest import import_job_run
    from portal.teams.models import Membership
    from portal.teams.services import team_create
    from tests.factories import UserFactory

    team = team_create(name="Bench")
    user = UserFactory(username="bench")
    user.set_password(PASSWORD)
    user.save()
    Membership.objects.create(team=team, user=user, is_researcher=True, is_annotator=True)
    dataset = dataset_create(user=user, team_id=team.pk, name="Tall strips")
    image = Image.new("RGB", (800, height), "white")
    draw = ImageDraw.Draw(image)
    for top in range(40, height - 900, 1000):
        draw.rectangle([40, top, 760, top + 860], fill=(200, 210, 240), outline="black", width=4)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    job = upload_import_create(
        dataset=dataset, user=user, files=[SimpleUploadedFile("tall.png", buffer.getvalue(), content_type="image/png")]
    )
    import_job_run(import_job_id=job.pk)
    tasks_create(dataset=dataset, user=user)
    task = Task.objects.get(dataset=dataset)
    task_assign(task=task, user=user, assignee=user)
    return task.pk


def _measure(base_url: str, task_id: int, *, runs: int) -> dict:
    from playwright.sync_api import sync_playwright

    url = f"{base_url}/label/{task_id}/"
    cold, warm = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        storage = _logged_in_state(browser, base_url)
        for _ in range(runs):
            context = browser.new_context(storage_state=storage, viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.goto(url)
            cold.append(page.evaluate(FIRST_TILE_PAINTED))
            context.close()
        context = browser.new_context(storage_state=storage, viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.goto(url)
        page.evaluate(FIRST_TILE_PAINTED)
        for _ in range(runs):
            page.reload()
            warm.append(page.evaluate(FIRST_TILE_PAINTED))
        browser.close()
    return {"cold_ms": _stats(cold), "warm_ms": _stats(warm)}


def _logged_in_state(browser, base_url: str) -> dict:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill("bench")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda u: "/accounts/login/" not in u)
    state = context.storage_state()
    context.close()
    return state


def _stats(samples: list[float]) -> dict:
    ordered = sorted(samples)
    nearest_rank = max(math.ceil(0.95 * len(ordered)) - 1, 0)
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered)),
        "p95": round(ordered[nearest_rank]),
        "max": round(ordered[-1]),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # nosec B310 # the bench's own http://127.0.0.1 server
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


if __name__ == "__main__":
    main()
