"""The inference worker's side of serving (training/services/serving.py), without the stack."""

import pytest

from training.models import FileRole, ModelFile, ModelVersion, PredictionRequest, PredictionState, RegisteredModel
from training.services.serving import FAILED_TO_LOAD, prediction_run, request_image_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(team_a):
    """A version whose checkpoint is not one (its config is fine): the worker's load fails."""
    import json

    from training.selectors.registry import version_folder

    model = RegisteredModel.objects.create(team=team_a, name="detector", last_version_number=1)
    version = ModelVersion.objects.create(model=model, number=1, format="torch_state_dict")
    folder = version_folder(version=version)
    folder.mkdir(parents=True)
    (folder / "checkpoint.pt").write_bytes(b"not a checkpoint")
    (folder / "config.json").write_text(json.dumps({"classes": ["panel"]}))
    for role, name in ((FileRole.CHECKPOINT, "checkpoint.pt"), (FileRole.CONFIG, "config.json")):
        ModelFile.objects.create(version=version, role=role, name=name, stored_name=name, sha256="0" * 64, byte_size=1)
    return version


def _request(version, state, png: bytes):
    row = PredictionRequest.objects.create(team=version.model.team, model_version=version, state=state)
    path = request_image_path(request_id=row.pk)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return row, path


@pytest.fixture
def png():
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_request_left_running_by_a_lost_worker_is_run_again_and_fails_with_the_loaders_words(version, png):
    row, path = _request(version, PredictionState.RUNNING, png)
    prediction_run(request_id=row.pk)
    row.refresh_from_db()
    assert row.state == PredictionState.FAILED and row.finished_at is not None
    assert row.error.startswith(FAILED_TO_LOAD.format(error="")) and len(row.error) > len(FAILED_TO_LOAD), row.error
    assert not path.exists()


def test_a_finished_request_is_left_alone(version, png):
    row, path = _request(version, PredictionState.SUCCEEDED, png)
    prediction_run(request_id=row.pk)
    row.refresh_from_db()
    assert row.state == PredictionState.SUCCEEDED and row.error == "" and path.exists()


def test_requests_older_than_a_day_are_pruned_with_any_image_left(version, png):
    from datetime import UTC, datetime, timedelta

    from training.services.serving import KEEP_REQUESTS, prediction_requests_prune

    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    old, old_path = _request(version, PredictionState.QUEUED, png)  # its worker was lost, its image left
    done, _ = _request(version, PredictionState.SUCCEEDED, png)
    recent, recent_path = _request(version, PredictionState.SUCCEEDED, png)
    PredictionRequest.objects.filter(pk__in=[old.pk, done.pk]).update(created_at=now - KEEP_REQUESTS - timedelta(1))
    PredictionRequest.objects.filter(pk=recent.pk).update(created_at=now - KEEP_REQUESTS + timedelta(minutes=1))

    assert prediction_requests_prune(now=now) == 2
    assert list(PredictionRequest.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not old_path.exists() and recent_path.exists()
