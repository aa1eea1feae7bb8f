"""Booking latency at scale, on SQLite and on PostgreSQL.

    .venv/bin/python bench/bookings.py                  # both databases
    .venv/bin/python bench/bookings.py --database sqlite --creates 200

Each run gets a fresh database (a SQLite file under var/bench/, or PostgreSQL database
`atelier_bench_bookings` on $BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432), migrated, with
256 GPUs (32 nodes x 8) and 10,000 existing bookings of 1-4 GPUs and 2-24 h spread over the next
30 days across 8 teams. Then it measures, through the real service and API code:

- create: `booking_create` for random requests (count 1-8, 1-12 h, random start in the next
  30 days), successes and 409 refusals timed separately; the same through the REST API in process
  (APIClient: URL routing, authentication, serializer, JSON);
- the race: 100 attempts at one GPU slot from threads released by one barrier (PostgreSQL: 50
  threads, as its 100 connections are shared); wall time and outcome counts;
- availability: `availability_find` for random requests, p50/p95.

Seeded: every run measures the same inputs. Target: create p95 <= 50 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import django_migrated, measure_in_child  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--creates", type=int, default=200)
    parser.add_argument("--availability", type=int, default=100)
    parser.add_argument("--bookings", type=int, default=10_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args)))
        return
    for database in ["sqlite", "postgres"] if args.database == "both" else [args.database]:
        result = run_child(database, args)
        report(database, result)


def run_child(database: str, args) -> dict:
    options = [
        "--creates",
        str(args.creates),
        "--availability",
        str(args.availability),
        "--bookings",
        str(args.bookings),
    ]
    return measure_in_child(script=__file__, name="bookings", database=database, options=options)


def measure(args) -> dict:
    django_migrated()
    rng = random.Random(6)
    world = seed(rng, bookings=args.bookings)
    result = {"existing_bookings": world["existing"], "gpus": len(world["gpus"])}
    result.update(measure_creates(rng, world, n=args.creates))
    result.update(measure_api_creates(rng, world, n=args.creates // 2))
    result.update(measure_availability(rng, n=args.availability))
    result.update(measure_race(world))
    return result


def seed(rng: random.Random, *, bookings: int) -> dict:
    from datetime import timedelta

    from django.utils import timezone

    from portal.teams.models import Membership
    from portal.teams.services import quota_update, team_create
    from scheduler.models import Booking, Gpu, GpuOccupancy, Node, OccupancyKind
    from tests.factories import UserFactory

    nodes = [Node.objects.create(name=f"bench-{n:02d}", backend="simulated", simulated=True) for n in range(32)]
    gpus = Gpu.objects.bulk_create(
        Gpu(
            node=node,
            index=i,
            uuid=f"GPU-bench-{node.name}-{i}",
            model="A100-80GB" if n % 2 else "L40S-48GB",
            memory_total_mb=81920 if n % 2 else 49152,
        )
        for n, node in enumerate(nodes)
        for i in range(8)
    )
    gpus = list(Gpu.objects.select_related("node").order_by("node__name", "index"))
    teams, users = [], []
    for t in range(8):
        team = team_create(name=f"Bench team {t}")
        quota_update(
            team=team,
            gpu_hours_per_month=10_000_000,
            max_concurrent_gpus=256,
            max_booking_hours=1000,
            booking_horizon_days=400,
        )
        teams.append(team)
        for u in range(4):
            user = UserFactory(username=f"bench{t}-{u}")
            Membership.objects.create(team=team, user=user, is_researcher=True)
            users.append((user, team))
    now = timezone.now().replace(second=0, microsecond=0)
    cursor = {g.pk: now + timedelta(hours=rng.uniform(0, 4)) for g in gpus}
    made = 0
    while made < bookings:
        node = rng.randrange(32)
        width = rng.choice((1, 1, 2, 4))
        first = rng.randrange(0, 8 - width + 1)
        chosen = gpus[node * 8 + first : node * 8 + first + width]
        start = max(cursor[g.pk] for g in chosen) + timedelta(minutes=rng.randrange(0, 240, 15))
        end = start + timedelta(hours=rng.randint(2, 24))
        user, team = rng.choice(users)
        booking = Booking.objects.create(user=user, team=team, start=start, end=end, note="bench")
        booking.gpus.set(chosen)
        GpuOccupancy.objects.bulk_create(
            GpuOccupancy(gpu=g, team=team, user=user, kind=OccupancyKind.BOOKING, start=start, end=end, booking=booking)
            for g in chosen
        )
        for g in chosen:
            cursor[g.pk] = end
        made += 1
    return {"gpus": gpus, "users": users, "now": now, "existing": made, "horizon": max(cursor.values())}


def _random_window(rng, world):
    from datetime import timedelta

    span = (world["horizon"] - world["now"]).total_seconds() / 3600
    start = world["now"] + timedelta(hours=1 + rng.uniform(0, span - 1))
    start = start.replace(second=0, microsecond=0)
    return start, start + timedelta(hours=rng.randint(1, 12))


def measure_creates(rng, world, *, n: int) -> dict:
    from portal.api.errors import Conflict
    from scheduler.selectors.placement import GpuRequest
    from scheduler.services.bookings import booking_create

    created, refused = [], []
    for _ in range(n):
        user, team = rng.choice(world["users"])
        start, end = _random_window(rng, world)
        request = GpuRequest(count=rng.choice((1, 1, 2, 4, 8)), same_node=rng.random() < 0.5)
        t0 = time.perf_counter()
        try:
            booking_create(user=user, team=team, start=start, end=end, request=request)
            created.append(time.perf_counter() - t0)
        except Conflict:
            refused.append(time.perf_counter() - t0)
    return {"create": stats(created), "create_conflict": stats(refused)}


def measure_api_creates(rng, world, *, n: int) -> dict:
    from rest_framework.test import APIClient

    timings = {201: [], 409: []}
    clients = {}
    for _ in range(n):
        user, team = rng.choice(world["users"])
        if user.pk not in clients:
            clients[user.pk] = APIClient()
            clients[user.pk].force_authenticate(user)
        start, end = _random_window(rng, world)
        body = {"gpus": rng.choice((1, 2, 4)), "start": start.isoformat(), "end": end.isoformat()}
        t0 = time.perf_counter()
        status = clients[user.pk].post("/api/v1/bookings/", body, format="json").status_code
        timings.setdefault(status, []).append(time.perf_counter() - t0)
    return {
        "api_create": stats(timings[201]),
        "api_create_conflict": stats(timings[409]),
        "api_other_statuses": {str(k): len(v) for k, v in timings.items() if k not in (201, 409)},
    }


def measure_availability(rng, *, n: int) -> dict:
    from datetime import timedelta

    from django.utils import timezone

    from scheduler.selectors.placement import GpuRequest, availability_find

    timings, found = [], 0
    for _ in range(n):
        request = GpuRequest(
            count=rng.choice((1, 2, 4, 8)), same_node=rng.random() < 0.5, model=rng.choice((None, "A100-80GB"))
        )
        t0 = time.perf_counter()
        windows = availability_find(
            request=request,
            duration=timedelta(hours=rng.randint(1, 48)),
            after=timezone.now() + timedelta(hours=rng.uniform(0, 200)),
        )
        timings.append(time.perf_counter() - t0)
        found += bool(windows)
    return {"availability": stats(timings), "availability_answered": found}


def measure_race(world) -> dict:
    from datetime import timedelta

    from portal.api.errors import Conflict
    from scheduler.selectors.placement import GpuRequest
    from scheduler.services.bookings import booking_create
    from tests.scheduler.race import race

    # A slot past every existing booking: the race is for free capacity, as in real life.
    start = world["horizon"] + timedelta(days=1)
    gpu = world["gpus"][0]
    users = world["users"]

    def attempt(i):
        user, team = users[i % len(users)]
        try:
            booking_create(
                user=user, team=team, start=start, end=start + timedelta(hours=4), request=GpuRequest(gpu_ids=(gpu.pk,))
            )
            return "created"
        except Conflict:
            return "conflict"

    t0 = time.perf_counter()
    outcomes = race(attempt, attempts=100)
    return {"race_wall_s": round(time.perf_counter() - t0, 3), "race_outcomes": dict(outcomes)}


def stats(samples: list[float]) -> dict:
    if not samples:
        return {"n": 0}
    ms = sorted(s * 1000 for s in samples)
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[max(0, int(len(ms) * 0.95) - 1)], 1),
        "max_ms": round(ms[-1], 1),
    }


def report(database: str, r: dict) -> None:
    def row(name, s):
        return f"| {name} | {s.get('n', 0)} | {s.get('p50_ms', '-')} ms | {s.get('p95_ms', '-')} ms | {s.get('max_ms', '-')} ms |"

    print(f"\n### {database}: {r['existing_bookings']:,} existing bookings on {r['gpus']} GPUs\n")
    print("| operation | n | p50 | p95 | max |\n|---|---|---|---|---|")
    print(row("booking_create (created)", r["create"]))
    print(row("booking_create (409)", r["create_conflict"]))
    print(row("POST /api/v1/bookings/ in process (201)", r["api_create"]))
    print(row("POST /api/v1/bookings/ in process (409)", r["api_create_conflict"]))
    print(row("availability_find", r["availability"]))
    print(
        f"\nrace: 100 attempts at one slot, wall {r['race_wall_s']} s, outcomes {r['race_outcomes']}; "
        f"availability answered {r['availability_answered']}; other API statuses {r['api_other_statuses']}"
    )


if __name__ == "__main__":
    main()
