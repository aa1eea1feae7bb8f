"""Issue 21 end to end, with real processes: a job submitted on a dataset version has its export staged
by the worker, trains the strip detector for a few steps on it (examples/train_detector.py), and its
checkpoint is registered with its lineage; a job of another team reads neither the staged folder nor the
staged cache."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from labeling.selectors.versions import version_from_ref
from scheduler.models import Gpu, Job
from tests.actors import api_client_for
from tests.stack import wait_for
from training.demo import detection_version_create
from training.models import InputStaging, ModelVersion, StagingState
from training.services.staging import staged_root, staging_sweep

pytestmark = pytest.mark.stack
ROOT = Path(__file__).resolve().parents[2]
TRAIN = "python examples/train_detector.py --steps 2 --batch 2 --tile-height 400 --scale 0.25 --threads 1"


@pytest.fixture
def fleet(live_stack):
    wait_for(
        lambda: (
            Gpu.objects.filter(node__last_heartbeat__gte=timezone.now() - timezone.timedelta(seconds=5)).count() >= 8
        )
    )
    return live_stack


@pytest.fixture
def checkout():
    """The training script and the detector module where the job's account can read them (the tests' job
    work root; pytest's own tmp_path is closed to that account)."""
    folder = Path(tempfile.mkdtemp(dir=settings.JOB_WORKDIR_ROOT, prefix="detector-"))
    (folder / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "train_detector.py", folder / "examples")
    shutil.copytree(ROOT / "training" / "detector", folder / "training" / "detector")
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def staged_job(user, version, *, command: str, workdir: Path, **fields) -> tuple[InputStaging, Job]:
    body = {
        "command": command,
        "working_dir": str(workdir),
        "gpus": 1,
        "time_limit": "PT10M",
        "dataset_version": version.pk,
    } | fields
    response = api_client_for(user).post("/api/v1/staged-jobs/", body, format="json")
    assert response.status_code == 202, response.content
    assert response["Location"] == f"/api/v1/staged-jobs/{response.json()['id']}/"
    staging = wait_for(
        lambda: (s := InputStaging.objects.get(pk=response.json()["id"])).state != StagingState.STAGING and s,
        timeout=60,
    )
    assert staging.state == StagingState.SUBMITTED, staging.error
    return staging, staging.job


def final(job, timeout=240.0):
    return wait_for(lambda: (j := Job.objects.get(pk=job.pk)).ended_at and j, timeout=timeout)


def log_text(user, job):
    return api_client_for(user).get(f"/api/v1/jobs/{job.pk}/log/").json()["data"]


def test_a_job_trains_the_detector_on_a_staged_version_and_is_registered_with_its_lineage(
    fleet, researcher, team_a, checkout
):
    version = detection_version_create(
        user=researcher, team_id=team_a.pk, name="Tiny strips", seeds=range(4), width=160, height=480
    )
    staging, job = staged_job(researcher, version, command=TRAIN, workdir=checkout, register_as="strip-detector")

    job = final(job)
    log = log_text(researcher, job)
    assert job.state == "succeeded", (job.state_reason, log)
    assert "device=cpu" in log and '"map50"' in log
    assert version_from_ref(job.inputs["dataset_version"]) == version
    assert job.inputs["data"] == str(settings.JOB_DATA_ROOT / f"job-{job.pk}" / "inputs")

    staging_sweep()  # beat's round, run here at once: the succeeded job's model is registered
    registered = ModelVersion.objects.get(model__name="strip-detector", model__team=team_a)
    assert (registered.number, registered.job, registered.dataset_version) == (1, job, version)
    assert sorted(registered.files.values_list("role", flat=True)) == ["checkpoint", "metrics"]
    assert set(registered.metrics) >= {"map50", "precision", "recall"}
    shown = api_client_for(researcher).get(f"/api/v1/staged-jobs/{staging.pk}/").json()
    assert (shown["state"], shown["job"], shown["model_version"]) == ("submitted", job.pk, 1)


@pytest.mark.skipif(
    os.geteuid() != 0 or not settings.JOB_RUN_AS_USER,
    reason="needs a root worker with a job account: run as root after `make job-account` (CI does)",
)
def test_a_job_of_another_team_reads_neither_the_staged_folder_nor_the_cache(
    fleet, researcher, outsider, team_a, checkout
):
    version = detection_version_create(
        user=researcher, team_id=team_a.pk, name="Tiny strips", seeds=range(2), width=160, height=480
    )
    read_own = 'cat "$ATELIER_INPUT_DATA/annotations/instances_train.json" > /dev/null && echo read-own-data'
    _, job_a = staged_job(researcher, version, command=read_own, workdir=checkout)
    job_a = final(job_a)
    assert job_a.state == "succeeded" and "read-own-data" in log_text(researcher, job_a), job_a.state_reason

    data = Path(job_a.inputs["data"])
    cache = staged_root()
    probes = {
        "list-data": f"ls {data}",
        "read-data": f"cat {data / 'annotations' / 'instances_train.json'}",
        "list-cache": f"ls {cache}",
        "read-cache": f"cat {next(cache.glob('export-*'))}/annotations/instances_train.json",
    }
    script = "; ".join(f"{probe} >/dev/null 2>&1 && echo got-{name}" for name, probe in probes.items())
    response = api_client_for(outsider).post(
        "/api/v1/jobs/", {"command": f"{script}; echo probed", "gpus": 1, "time_limit": "PT5M"}, format="json"
    )
    job_b = final(Job.objects.get(pk=response.json()["id"]))
    log = log_text(outsider, job_b)
    assert job_b.state == "succeeded" and "probed" in log, job_b.state_reason
    assert "got-" not in log, log
