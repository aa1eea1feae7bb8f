"""Item list API latency at 100,000 items, unfiltered and with each filter, on SQLite and PostgreSQL.

    .venv/bin/python bench/items.py                         # both databases, 100,000 items
    .venv/bin/python bench/items.py --database sqlite --items 20000 --repeats 20 --explain

Each database gets a fresh copy (a SQLite file under var/bench/, or PostgreSQL database
`bench_items` on $BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432, dropped afterwards;
`--keep` keeps both and `--reuse` measures a kept one again without seeding), migrated, with one
dataset of N items seeded like a studio's half-labelled dataset: 3 % episodes of 3 slices, statuses
40 % new / 20 % in progress / 10 % in review / 30 % done, 1 % near-duplicates; annotated items use
panel, speech_bubble, character, text (60-95 % of them), sfx (25 %), the `flashback` tag (3 %); 80 %
of items have a task, spread over 10 annotators and one who holds 30 tasks.

Then `GET /api/v1/datasets/{id}/items/` through Django's test client, signed in with a session (URL
routing, authentication, the dataset access check, the filter parsing, the query, the slices'
prefetch, serialization of 50 items with their slices, JSON): for each filter, the first page and a
deep page (a cursor 90 % of the way down the ids). Median and p95 of wall time over --repeats
requests after two warm-up requests, and of this process's CPU time (SQLite: all of the work; on a
shared, loaded box the steadier figure). Target: p95 <= 100 ms. `--explain` prints each query's plan.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_DB = "bench_items"
SQLITE_FILE = ROOT / "var" / "bench" / "items.sqlite3"
CLASS_SHARE = {"panel": 0.95, "speech_bubble": 0.8, "character": 0.7, "text": 0.8, "sfx": 0.25, "flashback": 0.03}
STATUSES = [("new", 0.4), ("in_progress", 0.2), ("in_review", 0.1), ("done", 0.3)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database")
    parser.add_argument("--reuse", action="store_true", help="measure a database kept by --keep")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args)))
        return
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    for database in ["sqlite", "postgres"] if args.database == "both" else [args.database]:
        report(database, run_child(database, args))


def run_child(database: str, args) -> dict:
    env = dict(
        os.environ,
        ATELIER_VAR_DIR=str(ROOT / "var" / "bench"),
        ATELIER_FAST_PASSWORD_HASHER="1",
        LOG_LEVEL="ERROR",
        ALLOWED_HOSTS="testserver",
        DJANGO_SETTINGS_MODULE="portal.settings",
    )
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    base = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    if database == "sqlite":
        SQLITE_FILE.parent.mkdir(parents=True, exist_ok=True)
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)
        env["DATABASE_URL"] = f"sqlite:///{SQLITE_FILE}"
    else:
        if not args.reuse:
            _psql(base, f"DROP DATABASE IF EXISTS {PG_DB}", f"CREATE DATABASE {PG_DB}")
        env["DATABASE_URL"] = f"{base}/{PG_DB}"
    command = [sys.executable, __file__, "--child", "--items", str(args.items), "--repeats", str(args.repeats)]
    command += ["--explain"] * args.explain + ["--reuse"] * args.reuse
    try:
        out = subprocess.run(command, env=env, check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    finally:
        if not args.keep:
            if database == "postgres":
                _psql(base, f"DROP DATABASE IF EXISTS {PG_DB}")
            else:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)
    lines = out.stdout.strip().splitlines()
    for line in lines[:-1]:
        print(line)
    return json.loads(lines[-1])


def _psql(base: str, *statements: str) -> None:
    for sql in statements:
        subprocess.run(["psql", f"{base}/postgres", "-qc", sql], check=True)


def measure(args) -> dict:
    import django

    django.setup()
    from django.core.management import call_command

    from labeling.models import Dataset

    if not args.reuse:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        seed(random.Random(8), count=args.items)
        print(f"# seeded {args.items:,} items in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    dataset = Dataset.objects.get(name="Bench items")
    return {
        "items": dataset.item_count,
        "cases": [
            measure_case(dataset, name, query, deep, args) for name, query in cases(dataset) for deep in (False, True)
        ],
    }


def cases(dataset) -> list[tuple[str, str]]:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    busy, rare = users.get(username="annotator0").pk, users.get(username="annotator-rare").pk
    return [
        ("unfiltered", ""),
        ("status=done", "status=done"),
        ("status=in_review", "status=in_review"),
        ("class=panel (57 %)", "class=panel"),
        ("class=sfx (15 %)", "class=sfx"),
        ("tag=flashback (1.8 %)", "tag=flashback"),
        ("class=absent (0 items)", "class=absent"),
        ("annotator (one of 10, 8 %)", f"annotator={busy}"),
        ("annotator (30 tasks)", f"annotator={rare}"),
        ("near_duplicate=true (1 %)", "near_duplicate=true"),
        ("status=done&class=sfx&annotator", f"status=done&class=sfx&annotator={busy}"),
    ]


def measure_case(dataset, name: str, query: str, deep: bool, args) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username="researcher"))
    url = f"/api/v1/datasets/{dataset.pk}/items/?{query}"
    if deep:
        lowest = dataset.items.order_by("id").values_list("id", flat=True).first()
        position = lowest + dataset.item_count // 10  # 90 % of the ids lie above this cursor
        url += f"&cursor={quote(base64.b64encode(f'p={position}'.encode()).decode())}"
    times, cpu, size = [], [], 0
    for attempt in range(args.repeats + 2):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        if attempt >= 2:
            times.append(elapsed)
            cpu.append((time.process_time() - started_cpu) * 1000)
        size = len(response.json()["results"])
    if args.explain:
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        sql = next(q["sql"] for q in queries.captured_queries if 'FROM "labeling_item"' in q["sql"])
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
        with connection.cursor() as cursor:
            cursor.execute(prefix + sql)
            plan = "\n".join("    " + " ".join(str(c) for c in row) for row in cursor.fetchall())
        print(f"## {name} {'deep' if deep else 'first'}\n    {sql}\n{plan}", file=sys.stderr, flush=True)
    times.sort()
    cpu.sort()
    return {
        "case": name,
        "page": "deep" if deep else "first",
        "results": size,
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "cpu_median_ms": round(statistics.median(cpu), 1),
        "cpu_p95_ms": round(cpu[int(0.95 * (len(cpu) - 1))], 1),
    }


def seed(rng: random.Random, *, count: int) -> None:
    from django.db import transaction

    from labeling.models import Dataset, Item, ItemClass, Slice, Task
    from portal.teams.models import Membership
    from portal.teams.services import team_create
    from tests.factories import UserFactory

    team = team_create(name="Bench team")
    researcher = UserFactory(username="researcher")
    Membership.objects.create(team=team, user=researcher, is_researcher=True)
    annotators = [UserFactory(username=f"annotator{n}") for n in range(10)]
    rare = UserFactory(username="annotator-rare")
    for user in (*annotators, rare):
        Membership.objects.create(team=team, user=user, is_annotator=True)
    dataset = Dataset.objects.create(team=team, name="Bench items", created_by=researcher, item_count=count)
    task_status = {"new": "new", "in_progress": "in_progress", "in_review": "submitted", "done": "accepted"}
    rare_left = 30
    for start in range(0, count, 5000):
        with transaction.atomic():
            items = []
            for _ in range(start, min(start + 5000, count)):
                episode = rng.random() < 0.03
                items.append(
                    Item(
                        dataset=dataset,
                        kind="episode" if episode else "image",
                        name=f"strip-{rng.getrandbits(32):08x}.png",
                        status=_pick(rng, STATUSES),
                        width=800,
                        height=12_000 if episode else 4_000,
                        slice_count=3 if episode else 1,
                        near_duplicate=rng.random() < 0.01,
                    )
                )
            items = Item.objects.bulk_create(items)
            slices, classes, tasks = [], [], []
            for item in items:
                for position in range(item.slice_count):
                    slices.append(
                        Slice(
                            dataset=dataset,
                            item=item,
                            position=position,
                            offset_y=4000 * position,
                            width=800,
                            height=4000,
                            sha256=f"{rng.getrandbits(256):064x}",
                            perceptual_hash=f"{rng.getrandbits(64):016x}",
                            byte_size=1_400_000,
                            source="upload",
                            source_format="PNG",
                            original_name=f"{item.name}",
                            original_byte_size=1_500_000,
                            uploader=researcher,
                            thumbnail_width=160,
                            thumbnail_height=800,
                        )
                    )
                if item.status != "new":
                    classes += [
                        ItemClass(dataset=dataset, item=item, class_name=name)
                        for name, share in CLASS_SHARE.items()
                        if rng.random() < share
                    ]
                if item.status != "new" or rng.random() < 0.5:
                    assignee = rng.choice(annotators)
                    if rare_left and rng.random() < 0.001:
                        assignee, rare_left = rare, rare_left - 1
                    tasks.append(Task(dataset=dataset, item=item, assignee=assignee, status=task_status[item.status]))
            Slice.objects.bulk_create(slices, batch_size=2000)
            ItemClass.objects.bulk_create(classes, batch_size=5000)
            Task.objects.bulk_create(tasks, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:  # fresh statistics, as autovacuum / a long-lived database has them
        cursor.execute("ANALYZE")


def _pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    point, total = rng.random(), 0.0
    for value, weight in weighted:
        total += weight
        if point < total:
            return value
    return weighted[-1][0]


def report(database: str, result: dict) -> None:
    print(f"\n{database}: {result['items']:,} items; GET /api/v1/datasets/{{id}}/items/ (50 per page), ms")
    print(f"{'filter':<36} {'page':<6} {'results':>7} {'median':>8} {'p95':>8} {'cpu med':>8} {'cpu p95':>8}")
    for row in result["cases"]:
        flag = "" if row["p95_ms"] <= 100 else "  > 100 ms"
        print(
            f"{row['case']:<36} {row['page']:<6} {row['results']:>7} {row['median_ms']:>8} {row['p95_ms']:>8} "
            f"{row['cpu_median_ms']:>8} {row['cpu_p95_ms']:>8}{flag}"
        )


if __name__ == "__main__":
    main()
