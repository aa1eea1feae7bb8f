"""Pre-labeling throughput on 800 × 20,000 px generated strips on the CPU (issue 22; docs/models.md
"Pre-label runs"), and the run's own overhead per item beside inference.

    .venv/bin/python bench/prelabel.py                  # 6 strips, 2 torch threads
    .venv/bin/python bench/prelabel.py --items 24 --threads 2 --bias -2.0

A fresh SQLite database under var/bench/prelabel-<pid>/, migrated; a dataset of generated strips
(training/detector/synthetic.py, stored through labeling's import like the demo's) and version 1 of an
untrained detector of the template's default size (width 24, scale 0.35, tiles of 1,024 px) whose heatmap
bias is `--bias` (the untrained default, -2.2, finds nothing; -2.0 fires a few dozen boxes a strip, so the
ingest has shapes to store). The real code paths, in this process:

- staging: `prelabel_run_start` (checks, the job's dry run) and `prelabel_stage` (the staging task: links,
  `manifest.json`, the job submitted);
- the job: `training.detector.prelabel.run` on the staged folder (ATELIER_PRELABEL_THREADS), with
  `shapes_predict` timed alone: `inference`; the rest of the job (PNG decode, the line written) is `job I/O`;
- ingest: `prelabel_ingest` every `--ingest-every` items while the job runs (beat's sweep, the progress a
  person sees), then once after the job ended (the run ends).

Times are wall seconds (time.perf_counter). Throughput = items / (staging + job + ingest).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.export import setup_environment  # noqa: E402

CLASSES = ("panel", "speech_bubble", "text")


def registered_detector(team, user, *, bias: float):
    import json

    import torch

    from training.detector.model import CentreDetector, DetectorConfig
    from training.models import FileRole, ModelFile, ModelVersion, RegisteredModel
    from training.selectors.registry import version_folder

    model = RegisteredModel.objects.create(team=team, name="bench-detector", created_by=user)
    version = ModelVersion.objects.create(model=model, number=1, format="state_dict", registered_by=user)
    folder = version_folder(version=version)
    folder.mkdir(parents=True, exist_ok=True)
    config = DetectorConfig(classes=CLASSES)
    torch.manual_seed(0)
    detector = CentreDetector(config)
    torch.nn.init.constant_(detector.heatmap.bias, bias)
    torch.save(detector.state_dict(), folder / "model.pt")
    (folder / "config.json").write_text(json.dumps(config.to_dict()))
    for role, name in ((FileRole.CHECKPOINT, "model.pt"), (FileRole.CONFIG, "config.json")):
        size = (folder / name).stat().st_size
        ModelFile.objects.create(
            version=version, role=role, name=name, stored_name=name, sha256="0" * 64, byte_size=size
        )
    return model


def timed_job(data: Path, output: Path, *, after_item) -> tuple[float, float, float]:
    """The job's own `run` with `shapes_predict` timed alone (wall and CPU seconds); `after_item(n)` after
    each line written."""
    import training.detector.infer as infer
    import training.detector.prelabel as job

    real = infer.shapes_predict
    spent = [0.0, 0, 0.0]

    def shapes_predict(*args, **kwargs):
        started, cpu = time.perf_counter(), time.process_time()
        shapes = real(*args, **kwargs)
        spent[0] += time.perf_counter() - started
        spent[2] += time.process_time() - cpu
        spent[1] += 1
        if spent[1] > 1:
            after_item(spent[1] - 1)  # the previous item's line is written and flushed
        return shapes

    infer.shapes_predict = shapes_predict
    try:
        started = time.perf_counter()
        assert job.run(data, output) == 0
        total = time.perf_counter() - started
    finally:
        infer.shapes_predict = real
    return total, spent[0], spent[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=6)
    parser.add_argument("--width", type=int, default=800)
    parser.add_argument("--height", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bias", type=float, default=-2.0)
    parser.add_argument("--ingest-every", type=int, default=4, help="items between two ingests while running")
    args = parser.parse_args()
    var_dir = ROOT / "var" / "bench" / f"prelabel-{os.getpid()}"
    var_dir.mkdir(parents=True)
    setup_environment(var_dir)
    os.environ["ATELIER_JOB_DATA_ROOT"] = str(var_dir / "jobs")
    os.environ["ATELIER_PRELABEL_THREADS"] = str(args.threads)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from portal.teams.models import Role
    from portal.teams.services import membership_set, team_create
    from scheduler.execution.runner import attempt_output_dir
    from scheduler.models import Attempt, Job
    from tests.scheduler.factories import GpuFactory
    from training.demo import detection_version_create
    from training.models import PrelabelState
    from training.services.prelabel import prelabel_ingest, prelabel_run_start, prelabel_stage

    team = team_create(name="Bench")
    user = get_user_model().objects.create(username="bench")
    membership_set(team=team, user=user, roles={Role.RESEARCHER})
    GpuFactory(model="bench-prelabel-gpu")
    started = time.perf_counter()
    dataset = detection_version_create(
        user=user, team_id=team.pk, name="Strips", seeds=range(args.items), width=args.width, height=args.height
    ).dataset
    generate_s = time.perf_counter() - started
    model = registered_detector(team, user, bias=args.bias)

    started = time.perf_counter()
    run = prelabel_run_start(
        user=user, model_id=model.pk, dataset_id=dataset.pk, version=1, time_limit=timedelta(hours=2)
    )
    run = prelabel_stage(run_id=run.pk)
    stage_s = time.perf_counter() - started
    # The job's attempt as the runner would start it: the ingest reads that attempt's output folder.
    attempt = Attempt.objects.create(job=run.job, number=1, node=GpuFactory(model="bench-node").node, state="running")
    Job.objects.filter(pk=run.job_id).update(state="running")
    output = attempt_output_dir(attempt)
    ingests: list[float] = []

    def ingest(_done: int = 0) -> None:
        began = time.perf_counter()
        prelabel_ingest(run_id=run.pk)
        ingests.append(time.perf_counter() - began)

    def after_item(done: int) -> None:
        if done % args.ingest_every == 0:
            ingest()

    job_s, inference_s, inference_cpu_s = timed_job(Path(run.job.inputs["data"]), output, after_item=after_item)
    Job.objects.filter(pk=run.job_id).update(state="succeeded")
    ingest()
    run.refresh_from_db()
    assert run.state == PrelabelState.SUCCEEDED and run.items_ingested == args.items, (run.state, run.error)

    n = args.items
    ingest_s, job_io_s = sum(ingests), job_s - inference_s
    total_s = stage_s + job_s + ingest_s
    overhead_s = stage_s + ingest_s
    print(
        f"{n} strips {args.width} x {args.height}, {args.threads} torch threads, bias {args.bias}: "
        f"{run.summary['kept']} boxes kept ({run.summary['kept'] / n:.0f} a strip); generate {generate_s:.1f} s\n"
        f"throughput {n / total_s:.2f} strips/s (inference alone {n / inference_s:.2f} strips/s)\n"
        f"per item: inference {1000 * inference_s / n:.0f} ms ({1000 * inference_cpu_s / n:.0f} ms CPU), job I/O (decode, line) {1000 * job_io_s / n:.0f} ms, "
        f"staging {1000 * stage_s / n:.1f} ms, ingest {1000 * ingest_s / n:.1f} ms ({len(ingests)} ingests)\n"
        f"overhead (staging + ingest) / inference {100 * overhead_s / inference_s:.1f} %; "
        f"with job I/O {100 * (overhead_s + job_io_s) / inference_s:.1f} %; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
