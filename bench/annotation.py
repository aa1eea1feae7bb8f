"""Annotation latency at scale, on SQLite and on PostgreSQL.

    .venv/bin/python bench/annotation.py                    # both databases
    .venv/bin/python bench/annotation.py --database sqlite --tasks 20000

Each run gets a fresh database (a SQLite file under var/bench/, or PostgreSQL database
`atelier_bench_annotation` on $BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432), migrated,
with one dataset of --tasks items (default 100,000; slice rows only, no pixels: no endpoint measured
here reads them), one task each, spread over 50 annotators in every status, then (PostgreSQL) VACUUM ANALYZE, as
autovacuum would. Then, through the REST
API in process (APIClient: routing, authentication, serializers, JSON):

- save: PUT /api/v1/tasks/{id}/annotation/ with If-Match, documents of 5 and of 500 shapes
  (boxes and polygons with attributes), each save on top of the last;
- task list: GET /api/v1/tasks/ for an annotator (`mine=true`), with a status filter, the reviewer
  queue (`review=true`), and a page deep in the cursor;
- next task: one annotator alone (50 calls), then 20 annotators in threads released together, each
  asking POST /api/v1/tasks/next/, submitting what it got and asking again (10 rounds), so every call
  claims fresh work. The threads share one Python process, as requests share one web process: their
  Python work queues on the GIL, so the concurrent figure is about 20 x the single call's CPU; the
  database part (the claim) is what the race test checks for correctness.

Targets: save p95 <= 30 ms with 5 shapes; task list p95 <= 100 ms at 100,000 tasks.
Seeded: every run measures the same inputs.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import django_migrated, measure_in_child  # noqa: E402

STATUSES = ("new", "in_progress", "submitted", "accepted", "rejected")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--lists", type=int, default=100)
    parser.add_argument("--parts", default="saves,lists,next", help="what to measure: saves, lists, next")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args)))
        return
    for database in ["sqlite", "postgres"] if args.database == "both" else [args.database]:
        print(json.dumps({"database": database, **run_child(database, args)}, indent=1))


def run_child(database: str, args) -> dict:
    options = [
        "--tasks",
        str(args.tasks),
        "--saves",
        str(args.saves),
        "--lists",
        str(args.lists),
        "--parts",
        args.parts,
    ]
    return measure_in_child(script=__file__, name="annotation", database=database, options=options)


def measure(args) -> dict:
    django_migrated()
    rng = random.Random(9)
    t0 = time.perf_counter()
    world = seed(rng, tasks=args.tasks)
    _analyze()
    result = {"tasks": args.tasks, "seed_seconds": round(time.perf_counter() - t0, 1)}
    parts = set(args.parts.split(","))
    if "saves" in parts:
        result.update(measure_saves(rng, world, n=args.saves))
    if "lists" in parts:
        result.update(measure_lists(rng, world, n=args.lists))
    if "next" in parts:
        result.update(measure_next_alone(world))
        result.update(measure_next(world))
    return result


def seed(rng: random.Random, *, tasks: int) -> dict:
    from labeling.models import Annotation, Dataset, Item, Slice, Task
    from portal.teams.models import Membership
    from portal.teams.services import team_create
    from tests.factories import UserFactory

    team = team_create(name="Bench labeling")
    researcher = UserFactory(username="bench-researcher")
    reviewer = UserFactory(username="bench-reviewer")
    Membership.objects.create(team=team, user=researcher, is_researcher=True)
    Membership.objects.create(team=team, user=reviewer, is_reviewer=True)
    annotators = [UserFactory(username=f"bench-annotator-{n}") for n in range(50)]
    Membership.objects.bulk_create([Membership(team=team, user=u, is_annotator=True) for u in annotators])
    dataset = Dataset.objects.create(team=team, name="Bench strips", created_by=researcher, item_count=tasks)
    Item.objects.bulk_create(
        [Item(dataset=dataset, name=f"strip-{n}", width=800, height=20_000, slice_count=1) for n in range(tasks)],
        batch_size=5000,
    )
    item_ids = list(Item.objects.filter(dataset=dataset).order_by("id").values_list("pk", flat=True))
    Slice.objects.bulk_create(
        [
            Slice(
                dataset=dataset,
                item_id=pk,
                position=0,
                offset_y=0,
                width=800,
                height=20_000,
                sha256=f"{pk:064d}",
                perceptual_hash="0" * 16,
                byte_size=1,
                source="upload",
                source_format="png",
                original_name="s.png",
                original_byte_size=1,
                thumbnail_width=1,
                thumbnail_height=1,
            )
            for pk in item_ids
        ],
        batch_size=5000,
    )
    rows = []
    for n, pk in enumerate(item_ids):
        # The last 2,000 items stay unassigned and new: the pool "next task" claims from.
        if n >= len(item_ids) - 2000:
            rows.append(Task(dataset=dataset, item_id=pk))
        else:
            rows.append(Task(dataset=dataset, item_id=pk, assignee=annotators[n % 50], status=rng.choice(STATUSES)))
    Task.objects.bulk_create(rows, batch_size=5000)
    Annotation.objects.bulk_create(
        [Annotation(task_id=pk) for pk in Task.objects.values_list("pk", flat=True)], batch_size=5000
    )
    return {"dataset": dataset, "annotators": annotators, "reviewer": reviewer}


def _analyze() -> None:
    """PostgreSQL: planner statistics for the bulk-loaded tables, as autovacuum gathers them in
    production (without them it guesses 100 rows and picks sorts). SQLite: nothing gathers them in
    production (no ANALYZE or PRAGMA optimize runs), so the bench leaves them out too."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def document(rng: random.Random, shapes: int) -> dict:
    result = []
    for n in range(shapes):
        x, y = rng.uniform(0, 700), rng.uniform(0, 19_800)
        if n % 3 == 2:
            points = [[x, y], [x + 60, y + 5], [x + 70, y + 80], [x + 5, y + 90], [x - 10, y + 40]]
            result.append(
                {
                    "id": f"s{n}",
                    "class": "sfx",
                    "type": "polygon",
                    "points": points,
                    "attributes": {"transcription": "쾅!"},
                }
            )
        else:
            result.append(
                {
                    "id": f"s{n}",
                    "class": "text" if n % 3 else "panel",
                    "type": "box",
                    "box": [x, y, 90, 150],
                    "attributes": {"transcription": f"line {n}"} if n % 3 else {},
                }
            )
    return {"shapes": result, "relations": []}


def measure_saves(rng, world, *, n: int) -> dict:
    from rest_framework.test import APIClient

    from labeling.models import Task

    result = {}
    for size in (5, 500):
        annotator = world["annotators"][size % 50]
        task = Task.objects.filter(assignee=annotator, status="in_progress").order_by("id").first()
        client = APIClient()
        client.force_authenticate(annotator)
        version = client.get(f"/api/v1/tasks/{task.pk}/annotation/").json()["version"]
        timings, cpu = [], []
        for _ in range(n if size == 5 else max(n // 4, 20)):
            body = document(rng, size)
            t0, c0 = time.perf_counter(), time.thread_time()
            response = client.put(
                f"/api/v1/tasks/{task.pk}/annotation/", body, format="json", HTTP_IF_MATCH=f'"{version}"'
            )
            cpu.append(time.thread_time() - c0)
            timings.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.content[:300]
            version = response.json()["version"]
        result[f"save_{size}_shapes"] = stats(timings)
        result[f"save_{size}_shapes_cpu"] = stats(cpu)
    return result


def measure_lists(rng, world, *, n: int) -> dict:
    from rest_framework.test import APIClient

    clients = {}

    def client_for(user):
        if user.pk not in clients:
            clients[user.pk] = APIClient()
            clients[user.pk].force_authenticate(user)
        return clients[user.pk]

    result = {}
    queries = {
        "list_mine": lambda: (rng.choice(world["annotators"]), "/api/v1/tasks/?mine=true"),
        "list_mine_status": lambda: (
            rng.choice(world["annotators"]),
            f"/api/v1/tasks/?mine=true&status={rng.choice(STATUSES)}",
        ),
        "list_review_queue": lambda: (world["reviewer"], "/api/v1/tasks/?review=true"),
        "list_all_as_reviewer": lambda: (world["reviewer"], "/api/v1/tasks/"),
    }
    for name, pick in queries.items():
        timings = []
        for _ in range(n):
            user, url = pick()
            t0 = time.perf_counter()
            response = client_for(user).get(url)
            timings.append(time.perf_counter() - t0)
            assert response.status_code == 200
        result[name] = stats(timings)
    deep = client_for(world["reviewer"]).get("/api/v1/tasks/?page_size=50").json()
    for _ in range(20):
        deep = client_for(world["reviewer"]).get(deep["next"].replace("http://testserver", "")).json()
    timings = []
    for _ in range(n):
        t0 = time.perf_counter()
        client_for(world["reviewer"]).get(deep["next"].replace("http://testserver", ""))
        timings.append(time.perf_counter() - t0)
    result["list_deep_cursor_page"] = stats(timings)
    return result


def measure_next_alone(world, *, calls: int = 50) -> dict:
    """One annotator asking for work and handing it in, over and over: the cost of one call."""
    from rest_framework.test import APIClient

    from portal.teams.models import Membership
    from tests.factories import UserFactory

    user = UserFactory(username="bench-next-alone")
    Membership.objects.create(team=world["dataset"].team, user=user, is_annotator=True)
    client = APIClient()
    client.force_authenticate(user)
    timings, cpu = [], []
    for _ in range(calls):
        t0, c0 = time.perf_counter(), time.thread_time()
        response = client.post("/api/v1/tasks/next/", {}, format="json")
        cpu.append(time.thread_time() - c0)
        timings.append(time.perf_counter() - t0)
        client.post(f"/api/v1/tasks/{response.json()['id']}/submit/", {}, format="json")
    # CPU: this thread's time in the call, i.e. the web process's work (on SQLite the database's too;
    # PostgreSQL's own backend is not counted). The steadier figure on a shared, loaded machine.
    return {"next_task_alone": stats(timings), "next_task_alone_cpu": stats(cpu)}


def measure_next(world, *, people: int = 20, rounds: int = 10) -> dict:
    from django.db import connection
    from rest_framework.test import APIClient

    timings, got, errors = [], [], []
    start = threading.Barrier(people)
    lock = threading.Lock()
    # Annotators with no rejected, in-progress or assigned new work, so each call claims a fresh task.
    from labeling.models import Task

    fresh = []
    for n in range(people):
        from portal.teams.models import Membership
        from tests.factories import UserFactory

        user = UserFactory(username=f"bench-next-{n}")
        Membership.objects.create(team=world["dataset"].team, user=user, is_annotator=True)
        fresh.append(user)

    cpu = []

    def run(user):
        client = APIClient()
        client.force_authenticate(user)
        start.wait()
        try:
            for _ in range(rounds):
                t0, c0 = time.perf_counter(), time.thread_time()
                response = client.post("/api/v1/tasks/next/", {}, format="json")
                elapsed = time.perf_counter() - t0
                with lock:
                    cpu.append(time.thread_time() - c0)
                if response.status_code != 200:
                    errors.append(response.status_code)
                    continue
                task_id = response.json()["id"]
                client.post(f"/api/v1/tasks/{task_id}/submit/", {}, format="json")
                with lock:
                    timings.append(elapsed)
                    got.append(task_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(user,)) for user in fresh]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    distinct = len(set(got)) == len(got)
    claimed = Task.objects.filter(assignee__in=fresh).count()
    return {
        "next_task_20_concurrent": stats(timings),
        "next_task_20_concurrent_cpu": stats(cpu),
        "next_task_calls": len(got),
        "next_task_distinct": distinct,
        "next_task_claimed_rows": claimed,
        "next_task_errors": errors[:10],
    }


def stats(samples: list[float]) -> dict:
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    return {
        "n": len(samples),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


if __name__ == "__main__":
    main()
