"""Staging a 10,000-item version for a job (docs/models.md "Inputs staged for jobs"): the COCO export with
its images, then what training adds (unpack once into the staged cache, link into the job's folder, submit
the job), then the same for a second job whose export is reused (link and submit only).

    .venv/bin/python bench/staging.py                 # 10,000 items x 5 boxes, one 800 x 4,000 PNG each
    .venv/bin/python bench/staging.py --items 1000 --repeat 5

A fresh SQLite database under var/bench/staging-<pid>/, migrated; the version is written in bulk by
bench/export.py's set-up, and every slice gets a real stored image (one small PNG, hard-linked under each
slice's hash: the export copies bytes, it does not decode them). Times are wall seconds in this process;
`unpack` is measured with the staged cache removed before each run, `reuse` with it in place.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.export import populate, setup_environment  # noqa: E402


def store_images(version_id: int) -> int:
    from PIL import Image

    from labeling import storage
    from labeling.models import Slice

    buffer = io.BytesIO()
    Image.new("RGB", (800, 4000), (240, 240, 240)).save(buffer, "PNG")
    sample = buffer.getvalue()
    slices = Slice.objects.filter(dataset__versions__id=version_id).values_list("dataset_id", "sha256")
    first = None
    for dataset_id, sha256 in slices.iterator():
        path = storage.image_path(dataset_id=dataset_id, sha256=sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        if first is None:
            path.write_bytes(sample)
            first = path
        else:
            os.link(first, path)
    return len(sample)


def stage_once(*, user, version, spec: dict) -> float:
    from training.services.staging import staged_job_submit, staging_advance

    staging = staged_job_submit(user=user, dataset_version_id=version.pk, job=dict(spec))
    started = time.perf_counter()
    staging_advance(staging_id=staging.pk)
    elapsed = time.perf_counter() - started
    staging.refresh_from_db()
    assert staging.state == "submitted" and staging.reused_export, (staging.state, staging.error)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--boxes", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    var_dir = ROOT / "var" / "bench" / f"staging-{os.getpid()}"
    var_dir.mkdir(parents=True)
    setup_environment(var_dir)
    os.environ["ATELIER_JOB_DATA_ROOT"] = str(var_dir / "jobs")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from labeling.models import ExportJob
    from labeling.services.exports import export_job_run
    from portal.teams.models import Role
    from portal.teams.services import membership_set
    from tests.scheduler.factories import GpuFactory
    from training.services.staging import staged_root

    populated = populate(args.items, args.boxes, "coco")
    export = ExportJob.objects.select_related("version", "created_by", "dataset__team").get(pk=populated)
    version, user = export.version, export.created_by
    user.is_staff = False
    user.save()
    membership_set(team=export.dataset.team, user=user, roles={Role.RESEARCHER})
    GpuFactory(model="bench-staging-gpu")
    store_images(version.pk)
    # The set-up's export has other options; the staged job's own is made (and timed) here.
    ExportJob.objects.filter(pk=populated).delete()
    from labeling.services.exports import export_create

    job = export_create(version=version, user=user, format="coco", options={"include_images": True})
    started = time.perf_counter()
    export_job_run(export_job_id=job.pk)
    export_s = time.perf_counter() - started
    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    spec = {"command": "python train.py", "gpus": 1, "time_limit": timedelta(minutes=30)}
    unpack, reuse = [], []
    for _ in range(args.repeat):
        shutil.rmtree(staged_root(), ignore_errors=True)
        unpack.append(stage_once(user=user, version=version, spec=spec))
    for _ in range(args.repeat):
        reuse.append(stage_once(user=user, version=version, spec=spec))
    print(
        f"{args.items:,} items, {args.items * args.boxes:,} boxes, zip {job.file_size / 2**20:.0f} MiB: "
        f"export {export_s:.1f} s; stage with unpack median {statistics.median(unpack):.2f} s "
        f"(max {max(unpack):.2f}); stage reusing the unpacked export median {statistics.median(reuse):.2f} s "
        f"(max {max(reuse):.2f}); runs {[round(x, 2) for x in unpack]} / {[round(x, 2) for x in reuse]}"
    )
    shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
