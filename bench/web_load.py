"""A fixed mix of what people do, at stated request rates, against 1 or N web processes on PostgreSQL.

    .venv/bin/python bench/web_load.py --processes 1 --rates 10,20,40 --duration 120
    .venv/bin/python bench/web_load.py --processes 4 --rates 10,20,40 --duration 120

A fresh PostgreSQL database `atelier_bench_web_load` on $BENCH_PG_URL (default
postgres://postgres@127.0.0.1:5432): migrated, a simulated fleet of 32 GPUs, one team with a
researcher and 20 annotators with 10 tasks each, 200 finished jobs, 50 bookings. `--processes` web
servers start (the command `make run` uses, each on its own port, as behind a load balancer), each
with the settings' connection pool. For each rate, requests leave on a fixed schedule (open loop:
a slow answer does not slow the arrivals) for `--duration` seconds, spread over the processes, in this
mix: the GPU board page 10 %, `GET /api/v1/jobs/` 25 %, `GET /api/v1/availability/` 20 %,
`GET /api/v1/tasks/?mine=true` 25 %, an annotation save (`PUT …/annotation/` with If-Match, 5 shapes)
20 %. Loopback only, bounded: at most rate × duration requests per step, and at most 200 in flight
(more are counted as failed, never queued). Reported per rate: answers by status, failed requests
(5xx, connection errors, timeouts over 10 s, and the in-flight cap), p50/p95 overall and per kind, and
the peak connections to the database (pg_stat_activity, sampled every 50 ms). The steps stop after the
first rate that fails (any failure, or p95 over 300 ms). The load generator runs on the same machine:
its own CPU is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import UVICORN_OPTIONS, django_migrated, fresh_database_env  # noqa: E402

MIX = (("board", 10), ("jobs", 25), ("availability", 20), ("tasks", 25), ("save", 20))
IN_FLIGHT_CAP = 200
TIMEOUT_S = 10.0
P95_TARGET_MS = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--rates", default="10,20,40", help="requests per second, comma-separated, in order")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds per rate")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_seed()))
        return
    env = fresh_database_env(name="web_load", database="postgresql")
    env["ALLOWED_HOSTS"] = "127.0.0.1"
    seeded = subprocess.run(
        [sys.executable, __file__, "--child"], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    )
    seed = json.loads(seeded.stdout.strip().splitlines()[-1])
    ports = [_free_port() for _ in range(args.processes)]
    servers = [_start_web(port, env) for port in ports]
    results = []
    saves = _Saves(seed["annotators"])  # the versions the server holds carry over from step to step
    try:
        for port in ports:
            _wait_answering(port, seed["researcher_cookie"])
        for rate in [float(r) for r in args.rates.split(",")]:
            result = asyncio.run(
                _step(ports, seed, saves, rate=rate, duration=args.duration, database_url=env["DATABASE_URL"])
            )
            results.append(result)
            _report(result, processes=args.processes)
            if result["failed"] or result["p95_ms"] > P95_TARGET_MS:
                break
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=20)
    passing = [r["rate"] for r in results if not r["failed"] and r["p95_ms"] <= P95_TARGET_MS]
    print(json.dumps({"processes": args.processes, "highest_passing_rate": max(passing, default=None)}))


def _seed() -> dict:
    """In the child: the fleet, the people, their tasks, jobs and bookings; sessions and task versions."""
    django_migrated()
    from datetime import timedelta

    from django.test import Client
    from django.utils import timezone

    from labeling.models import Annotation, Dataset, Item, Task
    from portal.teams.models import Membership, TeamQuota
    from portal.teams.services import team_create
    from scheduler.gpu.backends import backend_for
    from scheduler.models import Job, JobState
    from scheduler.selectors.placement import GpuRequest
    from scheduler.services.bookings import booking_create
    from scheduler.services.fleet import inventory_sync
    from tests.factories import UserFactory

    with backend_for(setting="simulated", sim_fleet_spec="4x8:A100-80GB") as backend:
        for reading in backend.read_fleet():
            inventory_sync(reading=reading)
    team = team_create(name="Load")
    TeamQuota.objects.update_or_create(
        team=team, defaults={"gpu_hours_per_month": 100_000, "max_concurrent_gpus": 32, "booking_horizon_days": 30}
    )
    researcher = UserFactory(username="load-researcher")
    Membership.objects.create(team=team, user=researcher, is_researcher=True, is_team_admin=True)
    annotators = [UserFactory(username=f"load-annotator-{n}") for n in range(20)]
    Membership.objects.bulk_create([Membership(team=team, user=u, is_annotator=True) for u in annotators])
    dataset = Dataset.objects.create(team=team, name="Load strips", created_by=researcher, item_count=200)
    Item.objects.bulk_create([Item(dataset=dataset, name=f"strip-{n}", width=800, height=10_000) for n in range(200)])
    items = list(Item.objects.filter(dataset=dataset).order_by("pk"))
    Task.objects.bulk_create(
        [Task(dataset=dataset, item=item, assignee=annotators[n % 20]) for n, item in enumerate(items)]
    )
    Annotation.objects.bulk_create([Annotation(task=task) for task in Task.objects.all()])
    now = timezone.now()
    Job.objects.bulk_create(
        [
            Job(
                owner=researcher,
                team=team,
                name=f"job-{n}",
                command="true",
                working_dir=str(ROOT),
                gpus=1,
                time_limit_s=3600,
                state=JobState.SUCCEEDED,
                started_at=now - timedelta(hours=n + 1),
                ended_at=now - timedelta(hours=n),
            )
            for n in range(200)
        ]
    )
    for n in range(50):
        start = now + timedelta(hours=2 * n + 1)
        booking_create(user=researcher, start=start, end=start + timedelta(hours=1), request=GpuRequest(count=2))
    return {
        "researcher_cookie": _session_cookie(Client, researcher),
        "annotators": [
            {
                "cookie": _session_cookie(Client, annotator),
                "tasks": list(Task.objects.filter(assignee=annotator).values_list("pk", flat=True)),
            }
            for annotator in annotators
        ],
    }


def _session_cookie(client_class, user) -> dict:
    import secrets
    import string

    client = client_class()
    client.force_login(user)
    # A CSRF secret as a browser holds it: the saves send it back in X-CSRFToken.
    csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf}


def _document(rng: random.Random) -> dict:
    shapes = []
    for n in range(5):
        x, y = rng.randint(0, 700), rng.randint(0, 9_800)
        shapes.append({"id": f"s{n}", "class": "panel", "type": "box", "box": [x, y, 80, 150], "attributes": {}})
    return {"shapes": shapes, "relations": []}


class _Saves:
    """Each annotator's tasks and the version the server last answered: a save sends If-Match, and a
    task with a save in flight is skipped for the next free one (an annotator saves one task at a time)."""

    def __init__(self, annotators: list[dict]):
        self.free = [(a["cookie"], task) for a in annotators for task in a["tasks"]]
        random.Random(7).shuffle(self.free)
        self.versions: dict[int, int] = {}

    def take(self):
        return self.free.pop(0) if self.free else None

    def give_back(self, entry) -> None:
        self.free.append(entry)


async def _step(ports: list[int], seed: dict, saves, *, rate: float, duration: float, database_url: str) -> dict:
    rng = random.Random(int(rate))
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: Counter = Counter()
    failed = Counter()
    in_flight = 0
    peak = _ConnectionSampler(database_url)
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    clients = [
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=TIMEOUT_S, limits=httpx.Limits(max_connections=IN_FLIGHT_CAP)
        )
        for port in ports
    ]

    async def one(n: int, kind: str) -> None:
        nonlocal in_flight
        client = clients[n % len(clients)]
        started = time.perf_counter()
        try:
            answer = await _request(client, kind, seed, saves, rng)
        except httpx.HTTPError as exc:
            failed[f"{kind}: {type(exc).__name__}"] += 1
            return
        finally:
            in_flight -= 1
        if answer is None:
            return  # every task had a save in flight: not sent, not counted
        statuses[answer.status_code] += 1
        if answer.status_code >= 500 or answer.status_code in (409, 412, 429):
            failed[f"{kind}: {answer.status_code}"] += 1
        else:
            latencies[kind].append((time.perf_counter() - started) * 1000)

    peak.start()
    tasks = []
    started = time.perf_counter()
    total = int(rate * duration)
    for n in range(total):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if in_flight >= IN_FLIGHT_CAP:
            failed["in-flight cap"] += 1
            continue
        in_flight += 1
        tasks.append(asyncio.create_task(one(n, rng.choice(kinds))))
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - started
    peak.stop()
    for client in clients:
        await client.aclose()
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    everything = [ms for values in latencies.values() for ms in values]
    return {
        "rate": rate,
        "sent": sum(len(v) for v in latencies.values()) + sum(failed.values()),
        "wall_s": round(wall, 1),
        "statuses": dict(statuses),
        "failed": dict(failed),
        "p50_ms": round(statistics.median(everything), 1) if everything else None,
        "p95_ms": round(_p95(everything), 1) if everything else float("inf"),
        "per_kind_p50_p95_ms": {k: (round(statistics.median(v), 1), round(_p95(v), 1)) for k, v in latencies.items()},
        "peak_db_connections": peak.peak,
        "max_connections": peak.max_connections,
        "generator_cpu_s_per_s": round(
            (cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime) / wall, 2
        ),
    }


async def _request(client: httpx.AsyncClient, kind: str, seed: dict, saves: _Saves, rng: random.Random):
    researcher = seed["researcher_cookie"]
    if kind == "board":
        return await client.get("/gpus/", cookies=researcher)
    if kind == "jobs":
        return await client.get("/api/v1/jobs/", cookies=researcher)
    if kind == "availability":
        return await client.get("/api/v1/availability/", params={"gpus": 2, "duration": "PT4H"}, cookies=researcher)
    if kind == "tasks":
        annotator = rng.choice(seed["annotators"])
        return await client.get("/api/v1/tasks/", params={"mine": "true"}, cookies=annotator["cookie"])
    entry = saves.take()
    if entry is None:
        return None
    cookie, task = entry
    try:
        version = saves.versions.get(task, 0)
        answer = await client.put(
            f"/api/v1/tasks/{task}/annotation/",
            json=_document(rng),
            cookies=cookie,
            headers={"If-Match": f'"{version}"', "X-CSRFToken": cookie["csrftoken"], "Referer": str(client.base_url)},
        )
        if answer.status_code == 200:
            saves.versions[task] = answer.json()["version"]
        return answer
    finally:
        saves.give_back(entry)


class _ConnectionSampler:
    def __init__(self, database_url: str):
        self.url, self.peak, self.max_connections = database_url, 0, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        name = self.url.rsplit("/", 1)[1]
        with psycopg.connect(self.url, autocommit=True) as conn:
            self.max_connections = int(conn.execute("SHOW max_connections").fetchone()[0])
            while not self._stop.wait(0.05):
                count = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)).fetchone()[0]
                self.peak = max(self.peak, count - 1)  # not this sampler's own


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _start_web(port: int, env: dict) -> subprocess.Popen:
    argv = [str(Path(sys.executable).parent / "uvicorn"), "--host", "127.0.0.1", "--port", str(port), *UVICORN_OPTIONS]
    return subprocess.Popen([*argv, "portal.asgi:application"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL)


def _wait_answering(port: int, cookies: dict) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/jobs/", cookies=cookies, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the web process on port {port} did not answer within 60 s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _report(result: dict, *, processes: int) -> None:
    print(json.dumps({"processes": processes, "pool": os.environ.get("ATELIER_DB_POOL_MAX_SIZE"), **result}))


if __name__ == "__main__":
    main()
