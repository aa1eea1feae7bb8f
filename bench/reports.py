"""Report latency (issue 24) on SQLite and PostgreSQL.

    .venv/bin/python bench/reports.py                     # both databases, a month of 128 GPUs (minutes)
    .venv/bin/python bench/reports.py --gpus 1024 --days 365 --jobs 100000 --tasks 666667 --calls 10
                                                          # the issue's scale: a year (about 1 h in all)

Each run gets a fresh database (bench/harness.py), migrated, with `--gpus` GPUs (nodes of 8), 8 teams
of 4 people, for `--days` days before a fixed instant: back-to-back bookings on every GPU (about one per
GPU per 9 h; no job occupancy rows, which need attempts), one idle period per fourth booking, `--jobs` jobs with one
attempt each, `--tasks` labeling tasks submitted and half of them reviewed (1.5 events per task), all spread over
the days. Then it times each
`GET /api/v1/reports/<name>/?range=month` in process (APIClient as a site admin), `--calls` times each
(`--reports idle,split`: only those; the idle report's page and CSV come with it),
reading the rows live; then rolls beat's hourly usage totals over the seeded history (timed) and times
each report again, now reading the totals; and beat's monthly snapshot of that month (`snapshot_take`) once.

The issue's target: p95 <= 300 ms on a year of hourly rollups for 1,024 GPUs, 100,000 jobs, 1,000,000
labeling events.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import django_migrated, measure_in_child  # noqa: E402

END = datetime(2026, 11, 1, tzinfo=UTC)
# "quotas" reads `month` and ignores `range`; October is read live (its snapshot is taken after).
REPORTS = ("split", "burn", "idle", "waits", "outcomes", "labeling", "agreement", "quotas")
# Pages timed beside the API where a report's page does more than its API answer (by its report's name).
PAGES = {
    "idle page": "/reports/idle/?range=month&month=2026-10",  # the worst 100 and the by-owner table
    "idle CSV": "/reports/idle/?range=month&month=2026-10&format=csv",  # every booking: an export, no target
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--gpus", type=int, default=128)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--reports", default=",".join(REPORTS), help="comma-separated; default every report")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args)))
        return
    for database in ["sqlite", "postgres"] if args.database == "both" else [args.database]:
        options = [f"--{k}={getattr(args, k)}" for k in ("gpus", "days", "jobs", "tasks", "calls", "reports")]
        report(database, measure_in_child(script=__file__, name="reports", database=database, options=options))


def measure(args) -> dict:
    django_migrated()
    rng = random.Random(24)
    t0 = time.perf_counter()
    world = seed(rng, args)
    seeded = time.perf_counter() - t0
    analyze()
    from django.test import Client
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(world["admin"])
    browser = Client()
    browser.force_login(world["admin"])
    names = args.reports.split(",")
    result = {"seed_s": round(seeded, 1), **world["counts"]}
    live = time_all(client, browser, names, args.calls)
    result["roll"] = roll_seconds()
    analyze()
    totals = time_all(client, browser, names, args.calls)
    result["reports"] = {name: {"live": live[name], "totals": totals[name]} for name in live}
    result["snapshot_s"] = round(snapshot_seconds(), 2)
    return result


def analyze() -> None:
    """PostgreSQL's planner statistics for the rows just written, as autovacuum gathers them after a bulk
    load (without them it guessed 16,621 occupancy rows for 5 booking ids, and scanned). SQLite keeps
    none unless asked, and Atelier never asks: it is measured as it runs."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def time_all(client, browser, names: list[str], calls: int) -> dict:
    """Each report's API, the pages of PAGES, and the quota report as on the seeded month's last
    evening (its current month: no snapshot, the rolled hours and the last ones live)."""
    import time_machine

    timed = {name: time_report(client, name, calls) for name in names}
    timed |= {name: time_get(browser, PAGES[name], calls) for name in PAGES if name.split()[0] in names}
    if "quotas" in names:
        with time_machine.travel(END - timedelta(minutes=30)):
            timed["quotas, month under way"] = time_report(client, "quotas", calls)
    return timed


def time_report(client, name: str, calls: int) -> dict:
    return time_get(client, f"/api/v1/reports/{name}/?range=month&month=2026-10", calls)


def time_get(client, path: str, calls: int) -> dict:
    """`calls` timed GETs after one untimed: a process's first request of a page compiles its templates
    and imports its modules once (~250 ms), a cost a running web process has paid long before."""
    assert client.get(path).status_code == 200
    samples = []
    for _ in range(calls):
        t = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - t)
        assert response.status_code == 200, response.content[:300]
    return stats(samples)


def roll_seconds() -> dict:
    """Beat's hourly usage totals: the whole seeded history rolled at once (a first deployment's
    catch-up), and then one more hour (what each run does in steady state)."""
    from scheduler.models import UsageHour
    from scheduler.services.usage_totals import settle_time, usage_hours_roll

    settled = END + settle_time() + timedelta(hours=1)
    started = time.perf_counter()
    hours = usage_hours_roll(now=settled, max_hours=10**6)
    catch_up = time.perf_counter() - started
    started = time.perf_counter()
    usage_hours_roll(now=settled + timedelta(hours=1))
    one = time.perf_counter() - started
    return {
        "hours": hours,
        "rows": UsageHour.objects.count(),
        "catch_up_s": round(catch_up, 1),
        "one_hour_ms": round(one * 1000, 1),
    }


def snapshot_seconds() -> float:
    """Beat's monthly snapshot of the seeded month (October 2026, closed at END), timed once: it is taken
    once per month by design (a second call finds it and writes nothing)."""
    from datetime import date

    from portal.reports.snapshots.models import SnapshotRow
    from portal.reports.snapshots.services import snapshot_take

    started = time.perf_counter()
    taken = snapshot_take(month=date(2026, 10, 1), now=END)
    seconds = time.perf_counter() - started
    assert taken is not None and SnapshotRow.objects.filter(snapshot=taken).exists()
    return seconds


def seed(rng, args) -> dict:
    from django.contrib.auth import get_user_model
    from django.db.models import OuterRef, Subquery

    from labeling.models import Dataset, Item, Review, Task
    from portal.teams.models import Membership, Team
    from scheduler.models import Attempt, Booking, BookingIdlePeriod, Gpu, GpuOccupancy, Job, Node

    User = get_user_model()
    admin = User.objects.create(username="admin", is_staff=True)
    teams = [Team.objects.create(name=f"team-{t}", slug=f"team-{t}") for t in range(8)]
    people = []
    for team in teams:
        for p in range(4):
            user = User.objects.create(username=f"{team.name}-u{p}")
            Membership.objects.create(team=team, user=user, is_researcher=True, is_annotator=True)
            people.append((team, user))
    nodes = [Node.objects.create(name=f"n{i:03d}", hostname=f"n{i:03d}.bench") for i in range(args.gpus // 8)]
    gpus = Gpu.objects.bulk_create(
        [
            Gpu(node=n, index=i, uuid=f"GPU-{n.name}-{i}", model="A100-80GB", memory_total_mb=81920)
            for n in nodes
            for i in range(8)
        ]
    )
    start = END - timedelta(days=args.days)
    bookings, occupancy, idle = [], [], []
    for gpu in gpus:
        at = start
        while at < END:
            team, user = rng.choice(people)
            length = timedelta(hours=rng.randint(2, 12))
            booking = Booking(user=user, team=team, start=at, end=at + length)
            bookings.append(booking)
            occupancy.append(
                GpuOccupancy(gpu=gpu, team=team, user=user, kind="booking", start=at, end=at + length, booking=booking)
            )
            if len(bookings) % 4 == 0:
                idle.append(
                    BookingIdlePeriod(
                        booking=booking, start=at + length / 2, end=at + length, flagged_at=at + length / 2
                    )
                )
            at += length + timedelta(hours=rng.randint(0, 4))
    Booking.objects.bulk_create(bookings, batch_size=2000)  # sets each booking's pk (SQLite 3.35+, PostgreSQL)
    GpuOccupancy.objects.bulk_create(occupancy, batch_size=2000)
    BookingIdlePeriod.objects.bulk_create(idle, batch_size=2000)
    jobs, attempts = [], []
    for _ in range(args.jobs):
        team, user = rng.choice(people)
        submitted = start + timedelta(seconds=rng.randint(0, args.days * 86400 - 7200))
        jobs.append(
            Job(
                owner=user,
                team=team,
                name="j",
                command="true",
                working_dir="/srv/bench",  # never read: the jobs do not run
                gpus=rng.choice((1, 2, 4, 8)),
                time_limit_s=3600,
                state="succeeded",
                started_at=submitted + timedelta(seconds=rng.randint(0, 7200)),
            )
        )
    jobs = Job.objects.bulk_create(jobs, batch_size=2000)
    for job in jobs:
        attempts.append(
            Attempt(
                job=job,
                number=1,
                node=rng.choice(nodes),
                state=rng.choice(("succeeded", "failed", "lost", "timed_out")),
                started_at=job.started_at,
                ended_at=job.started_at + timedelta(hours=1),
                gpu_seconds=3600.0 * job.gpus,
            )
        )
    Attempt.objects.bulk_create(attempts, batch_size=2000)
    Job.objects.update(submitted_at=start)  # auto_now_add; waits then spread by started_at
    dataset = Dataset.objects.create(team=teams[0], name="bench")
    items = Item.objects.bulk_create([Item(dataset=dataset, name=f"i{i}") for i in range(args.tasks)], batch_size=2000)
    team0 = [u for t, u in people if t == teams[0]]
    tasks = Task.objects.bulk_create(
        [
            Task(
                dataset=dataset,
                item=item,
                assignee=rng.choice(team0),
                status="submitted",
                focused_seconds=rng.randint(10, 600),
                submitted_at=start + timedelta(seconds=rng.randint(0, args.days * 86400 - 1)),
            )
            for item in items
        ],
        batch_size=2000,
    )
    Review.objects.bulk_create(
        [
            Review(task=t, reviewer=team0[0], decision=rng.choice(("accept", "reject")), document_version=1)
            for t in tasks[::2]
        ],
        batch_size=2000,
    )
    # Each review when its task was handed in (created_at is auto_now_add: set afterwards).
    handed_in = Task.objects.filter(pk=OuterRef("task_id")).values("submitted_at")[:1]
    Review.objects.update(created_at=Subquery(handed_in))
    counts = {
        "gpus": len(gpus),
        "occupancy_rows": len(occupancy),
        "idle_periods": len(idle),
        "jobs": len(jobs),
        "tasks": len(tasks),
    }
    return {"admin": admin, "counts": counts}


def stats(samples: list[float]) -> dict:
    ms = sorted(s * 1000 for s in samples)
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[max(0, math.ceil(len(ms) * 0.95) - 1)], 1),  # nearest rank
    }


def report(database: str, r: dict) -> None:
    print(
        f"\n### {database}: {r['gpus']} GPUs, {r['occupancy_rows']:,} occupancy rows, {r['idle_periods']:,} idle periods, "
        f"{r['jobs']:,} jobs, {r['tasks']:,} tasks (seeded in {r['seed_s']} s)\n"
    )
    roll = r["roll"]
    print(
        f"hourly usage totals: {roll['hours']} hours rolled in {roll['catch_up_s']} s ({roll['rows']:,} rows); "
        f"one more hour in {roll['one_hour_ms']} ms\n"
    )
    print("| GET /api/v1/reports/<name>/?range=month | n | live p50 / p95 | with totals p50 / p95 |\n|---|---|---|---|")
    for name, timings in r["reports"].items():
        live, totals = timings["live"], timings["totals"]
        print(
            f"| {name} | {live['n']} | {live['p50_ms']} / {live['p95_ms']} ms | {totals['p50_ms']} / {totals['p95_ms']} ms |"
        )
    print(f"\nmonthly snapshot of 2026-10 (snapshot_take, once): {r['snapshot_s']} s")


if __name__ == "__main__":
    main()
