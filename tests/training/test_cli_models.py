"""`atelier models register JOB --name NAME` against a live server (pytest-django's, in-process)."""

import subprocess

import pytest

from portal.accounts.services import api_token_create
from tests.cli.test_cli import ATELIER, cli_env
from tests.training.conftest import write_output
from training.models import ModelVersion


@pytest.fixture
def cli(transactional_db, live_server, researcher, tmp_path):
    _, token = api_token_create(user=researcher, name="cli", expires_in_days=1)
    env = cli_env(tmp_path)

    def run(*args):
        return subprocess.run([ATELIER, *args], env=env, capture_output=True, text=True, timeout=60)

    assert run("login", live_server.url, "--token", token).returncode == 0
    return run


def test_register_creates_the_model_then_adds_versions(cli, trained_job, dataset_version):
    first = cli("models", "register", str(trained_job.pk), "--name", "detector", "--metrics", "metrics.json")
    second = cli("models", "register", str(trained_job.pk), "--name", "detector")

    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"Model detector version 1 registered from job {trained_job.pk}."
    assert second.stdout.strip() == f"Model detector version 2 registered from job {trained_job.pk}."
    version = ModelVersion.objects.get(number=1)
    assert (version.model.name, version.dataset_version_id, version.metrics) == (
        "detector",
        dataset_version.pk,
        {"map50": 0.42},
    )


def test_a_file_that_does_not_load_is_one_line_naming_it(cli, trained_job):
    write_output(trained_job, "broken.pt", b"nope")

    refused = cli("models", "register", str(trained_job.pk), "--name", "detector", "--checkpoint", "broken.pt")

    assert refused.returncode == 1
    assert refused.stderr.startswith("atelier: checkpoint: 'broken.pt' does not load as a torch state_dict: ")
    assert not ModelVersion.objects.exists()


def test_submit_with_a_dataset_version_stages_it_first(cli, dataset_version):
    from tests.scheduler.factories import GpuFactory
    from training.models import InputStaging, StagingState

    GpuFactory(model="cli-staging-gpu")
    submitted = cli("submit", "--dataset-version", str(dataset_version.pk), "--", "python", "train.py", "--steps", "5")
    assert submitted.returncode == 0, submitted.stderr
    staging = InputStaging.objects.get()
    assert (
        submitted.stdout.split()
        == (
            f"Staging {staging.pk}: dataset version {dataset_version.pk} is exported and staged, then the job is "
            f"submitted (atelier staged {staging.pk})."
        ).split()
    )
    assert (staging.dataset_version, staging.export_format, staging.job_spec["command"]) == (
        dataset_version,
        "coco",
        "python train.py --steps 5",
    )
    shown = cli("staged", str(staging.pk))
    # Its state is whatever a worker made of it by now (beside the stack, one may have run the export).
    state, export = shown.stdout.split("; ")[0], shown.stdout.split("; ")[1]
    assert state in {f"Staging {staging.pk}: {s}" for s in StagingState.values}, shown.stdout
    assert export.startswith(f"export {staging.export_id} "), shown.stdout
