"""Shared set-up for the registry tests: a frozen dataset version of team A, a succeeded job of team A
that names it in its inputs, and checkpoints written into that job's outputs folder."""

import io
import json
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def storage(request, settings, tmp_path):
    """Model storage and job folders of each test in its own directory (not with the stack: its worker
    reads the run's own folders)."""
    if "live_stack" in request.fixturenames:
        return tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.JOB_DATA_ROOT = tmp_path / "jobs"
    return tmp_path


@pytest.fixture
def dataset_version(team_a, researcher):
    from labeling.services.datasets import dataset_create
    from labeling.services.versions import version_create
    from tests.labeling.builders import make_item

    dataset = dataset_create(user=researcher, team_id=team_a.pk, name="Strips")
    make_item(dataset, name="strip-1")
    return version_create(dataset=dataset, user=researcher, seed=7)


def finished_job(user, team, *, inputs: dict, state: str = "succeeded"):
    from scheduler.models import Attempt, Job
    from tests.scheduler.factories import NodeFactory

    job = Job.objects.create(
        owner=user,
        team=team,
        name="train",
        command="python train.py",
        working_dir="/tmp",
        gpus=1,
        time_limit_s=600,
        state=state,
        inputs=inputs,
    )
    Attempt.objects.create(job=job, number=1, node=NodeFactory(), state=state)
    return job


@pytest.fixture
def trained_job(researcher, team_a, dataset_version):
    from labeling.selectors.versions import version_ref

    job = finished_job(researcher, team_a, inputs={"data": version_ref(version=dataset_version)})
    write_output(job, "model.pt", state_dict_bytes())
    write_output(job, "metrics.json", json.dumps({"map50": 0.42}).encode())
    return job


def outputs_dir(job) -> Path:
    from django.conf import settings

    return Path(settings.JOB_DATA_ROOT) / f"job-{job.pk}" / "outputs"


def write_output(job, name: str, data: bytes) -> Path:
    path = outputs_dir(job) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def state_dict_bytes() -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(torch.nn.Linear(3, 2).state_dict(), buffer)
    return buffer.getvalue()


def torchscript_bytes() -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(torch.nn.Linear(3, 2)), buffer)
    return buffer.getvalue()


def stored_files() -> list[str]:
    """Every file in model storage, temporary folders included."""
    from training.selectors.registry import model_storage_root

    root = model_storage_root()
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def model(researcher, team_a):
    from training.services.registry import model_create

    return model_create(user=researcher, team_id=team_a.pk, name="detector")


# --- pipelines (tests/training/test_pipeline_*.py) -------------------------------------------------


@pytest.fixture
def workdir(settings, tmp_path):
    """The jobs' working directory with the code files the steps declare."""
    folder = tmp_path / "checkout"
    folder.mkdir()
    (folder / "train.py").write_text("print('train')\n")
    (folder / "evaluate.py").write_text("print('evaluate')\n")
    settings.JOB_WORKDIR_ROOT = tmp_path
    settings.TRAINING_PIPELINE_WORKDIR = str(folder)
    return folder


@pytest.fixture
def dataset(researcher, team_a):
    from training.demo import detection_version_create

    version = detection_version_create(
        user=researcher, team_id=team_a.pk, name="Strips", seeds=range(2), width=160, height=480
    )
    return version.dataset


@pytest.fixture
def gpu(db):
    from tests.scheduler.factories import GpuFactory

    return GpuFactory()
