"""Registering a 100 MB checkpoint from a job's outputs (docs/models.md): copy into model storage with
its sha256, load it in a child process (torch.load, weights_only), write the rows.

    .venv/bin/python bench/registration.py               # a 100 MB state_dict, 5 registrations
    .venv/bin/python bench/registration.py --mb 500 --repeat 3

A fresh SQLite database under var/bench/registration-<pid>/, migrated; a succeeded job of the team whose
outputs hold the checkpoint (one float32 tensor of that size) and a metrics JSON. Each registration is a
new version of one model; wall seconds in this process (the first pays the checkpoint forkserver's start and
torch's import once; training/checkpoints.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.export import setup_environment  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    var_dir = ROOT / "var" / "bench" / f"registration-{os.getpid()}"
    var_dir.mkdir(parents=True)
    setup_environment(var_dir)
    os.environ["ATELIER_JOB_DATA_ROOT"] = str(var_dir / "jobs")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import torch

    from labeling.models import Dataset, DatasetVersion
    from labeling.selectors.versions import version_ref
    from portal.teams.models import Role, Team
    from portal.teams.services import membership_set
    from scheduler.models import Attempt, Job
    from tests.factories import UserFactory
    from tests.scheduler.factories import NodeFactory
    from training.services.registry import model_create, version_register

    team = Team.objects.create(name="Bench")
    user = UserFactory(username="bench")
    membership_set(team=team, user=user, roles={Role.RESEARCHER})
    dataset = Dataset.objects.create(team=team, name="Bench", created_by=user)
    version = DatasetVersion.objects.create(
        dataset=dataset, number=1, seed=0, ratios={}, content_hash="0" * 64, created_by=user, stats={}
    )
    job = Job.objects.create(
        owner=user,
        team=team,
        name="train",
        command="python train.py",
        working_dir=str(ROOT),
        gpus=1,
        time_limit_s=600,
        state="succeeded",
        inputs={"dataset_version": version_ref(version=version)},
    )
    Attempt.objects.create(job=job, number=1, node=NodeFactory(), state="succeeded")
    outputs = Path(os.environ["ATELIER_JOB_DATA_ROOT"]) / f"job-{job.pk}" / "outputs"
    outputs.mkdir(parents=True)
    torch.save({"weight": torch.randn(args.mb * 2**20 // 4)}, outputs / "model.pt")
    (outputs / "metrics.json").write_text(json.dumps({"map50": 0.5}))
    size_mb = (outputs / "model.pt").stat().st_size / 2**20
    model = model_create(user=user, team_id=team.pk, name="bench")
    times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        version_register(
            user=user,
            model=model,
            job=job,
            checkpoint="model.pt",
            format="torch_state_dict",
            metrics_file="metrics.json",
        )
        times.append(time.perf_counter() - started)
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(
        f"register a {size_mb:.0f} MiB state_dict: median {statistics.median(times):.2f} s, p95 {p95:.2f} s, "
        f"runs {[round(t, 2) for t in times]}"
    )
    shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
