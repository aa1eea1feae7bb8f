"""COCO export of a frozen version: 100,000 items with 500,000 boxes; wall time and peak RSS.

    .venv/bin/python bench/export.py                         # 100,000 items x 5 boxes, COCO, SQLite
    .venv/bin/python bench/export.py --items 10000 --format yolo

A fresh SQLite database under var/bench/export-<pid>/, migrated. Set-up (not timed) writes a
dataset of single-slice 800 x 4,000 items and one frozen version whose VersionItem snapshots each
hold an annotation of N boxes with attributes (rows inserted in bulk: what the export reads is the
snapshot). The timed part runs in a child process, exactly as the Celery task does:
`export_job_run` reads the VersionItems in chunks, streams annotations/instances_train.json (and
val, test) into the zip, and records the job. Wall = the child's run; peak RSS = the child's
maxrss (so the set-up's memory is not counted); CPU = the child's user + system time, its
start-up (Django import) included, the stable figure on a shared machine. The COCO file is then loaded with pycocotools
to check its counts (not timed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_environment(var_dir: Path) -> None:
    os.environ.update(
        ATELIER_VAR_DIR=str(var_dir),
        DATABASE_URL=f"sqlite:///{var_dir / 'bench.sqlite3'}",
        DJANGO_SETTINGS_MODULE="portal.settings",
        ATELIER_FAST_PASSWORD_HASHER="1",
        ATELIER_GPU_BACKEND="simulated",
        ATELIER_MEDIA_ROOT=str(var_dir / "media"),
    )
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        os.environ.pop(name, None)


def populate(items: int, boxes: int, format_name: str) -> int:
    from django.db import transaction

    from labeling.models import Dataset, DatasetVersion, Item, Slice, VersionItem
    from labeling.services.exports import export_create
    from portal.teams.models import Team
    from tests.factories import UserFactory

    rng = random.Random(7)
    team = Team.objects.create(name="Bench")
    user = UserFactory(username="bench", is_staff=True)
    dataset = Dataset.objects.create(team=team, name="Bench strips", created_by=user)
    classes = ["panel", "speech_bubble", "character", "text", "sfx"]
    with transaction.atomic():
        Item.objects.bulk_create(
            [
                Item(dataset=dataset, name=f"strip-{n:06d}.png", width=800, height=4000, slice_count=1)
                for n in range(items)
            ],
            batch_size=5000,
        )
        item_ids = list(Item.objects.filter(dataset=dataset).order_by("id").values_list("id", flat=True))
        Slice.objects.bulk_create(
            [
                Slice(
                    dataset=dataset,
                    item_id=i,
                    position=0,
                    offset_y=0,
                    width=800,
                    height=4000,
                    sha256=f"{i:064x}",
                    perceptual_hash=f"{i:016x}",
                    byte_size=1,
                    source="upload",
                    source_format="PNG",
                    original_name=f"strip-{i}.png",
                    original_byte_size=1,
                    thumbnail_width=1,
                    thumbnail_height=1,
                )
                for i in item_ids
            ],
            batch_size=5000,
        )
        version = DatasetVersion.objects.create(
            dataset=dataset,
            number=1,
            seed=0,
            ratios={"train": 0.8, "val": 0.1, "test": 0.1},
            content_hash="0" * 64,
            created_by=user,
            stats={"items": items, "classes": {c: 0 for c in classes}},
        )
        rows = []
        for item_id in item_ids:
            shapes = []
            for n in range(boxes):
                x, y = round(rng.uniform(0, 700), 2), round(rng.uniform(0, 3800), 2)
                klass = classes[n % len(classes)]
                attributes = {"transcription": "대사"} if klass == "text" else {}
                shapes.append(
                    {
                        "id": f"s{n}",
                        "class": klass,
                        "type": "box",
                        "box": [x, y, round(rng.uniform(5, 100), 2), round(rng.uniform(5, 200), 2)],
                        "attributes": attributes,
                    }
                )
            snapshot = {
                "kind": "image",
                "name": f"strip-{item_id}.png",
                "width": 800,
                "height": 4000,
                "slices": [
                    {
                        "position": 0,
                        "offset_y": 0,
                        "width": 800,
                        "height": 4000,
                        "sha256": f"{item_id:064x}",
                        "phash": f"{item_id:016x}",
                    }
                ],
                "annotation": {"task": item_id, "status": "accepted", "version": 1, "shapes": shapes, "relations": []},
            }
            split = "train" if rng.random() < 0.8 else rng.choice(["val", "test"])
            rows.append(VersionItem(version=version, item_id=item_id, split=split, snapshot=snapshot))
            if len(rows) == 5000:
                VersionItem.objects.bulk_create(rows)
                rows = []
        VersionItem.objects.bulk_create(rows)
    return export_create(version=version, user=user, format=format_name, options={}).pk


def run_child(job_id: int) -> None:
    import django

    django.setup()
    from labeling.services.exports import export_job_run

    started = time.perf_counter()
    export_job_run(export_job_id=job_id)
    print(json.dumps({"wall_s": time.perf_counter() - started}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--boxes", type=int, default=5, help="boxes per item")
    parser.add_argument("--format", default="coco", choices=["coco", "yolo", "voc", "label_studio"])
    parser.add_argument("--keep", action="store_true", help="keep var/bench/export-<pid>/")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child)
        return
    var_dir = ROOT / "var" / "bench" / f"export-{os.getpid()}"
    var_dir.mkdir(parents=True)
    setup_environment(var_dir)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    job_id = populate(args.items, args.boxes, args.format)
    print(f"set-up: {args.items:,} items, {args.items * args.boxes:,} boxes in {time.perf_counter() - started:.1f} s")
    from django.db import connections

    connections.close_all()
    child = subprocess.run(
        [sys.executable, __file__, "--child", str(job_id)],
        env=os.environ.copy(),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if child.returncode:
        sys.exit(child.stderr)
    wall = json.loads(child.stdout.strip().splitlines()[-1])["wall_s"]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
    from labeling import storage
    from labeling.models import ExportJob

    job = ExportJob.objects.get(pk=job_id)
    print(
        f"{args.format} export: state {job.state}, wall {wall:.2f} s, CPU {cpu:.2f} s (the child, start-up included), peak RSS {peak_mb:.0f} MB, "
        f"zip {job.file_size / 2**20:.1f} MiB, counts {job.counts}"
    )
    if args.format == "coco" and job.state == "succeeded":
        check_with_pycocotools(storage.export_path(dataset_id=job.dataset_id, job_id=job.pk), var_dir, job.counts)
    if not args.keep:
        shutil.rmtree(var_dir, ignore_errors=True)


def check_with_pycocotools(path: Path, var_dir: Path, counts: dict) -> None:
    import contextlib
    import io

    from pycocotools.coco import COCO

    images = annotations = 0
    with zipfile.ZipFile(path) as archive:
        for split in ("train", "val", "test"):
            target = var_dir / f"{split}.json"
            target.write_bytes(archive.read(f"annotations/instances_{split}.json"))
            with contextlib.redirect_stdout(io.StringIO()):
                coco = COCO(str(target))
            images += len(coco.getImgIds())
            annotations += len(coco.getAnnIds())
            target.unlink()
    assert (images, annotations) == (counts["images"], counts["annotations"]), (images, annotations, counts)
    print(f"pycocotools: {images:,} images, {annotations:,} annotations: counts match")


if __name__ == "__main__":
    main()
