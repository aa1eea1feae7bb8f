"""Pre-label runs with real processes (docs/models.md "Pre-label runs"): a registered tiny detector
predicts a few generated strips as an ordinary scheduled job; the ingest stores one Prediction per item
(valid against the dataset's schema) however often it runs; a checkpoint that does not load fails the run
with the loader's message and stores nothing; another team's researcher gets 404."""

import json
import shutil
import tempfile
from pathlib import Path

import pytest
import torch
from django.conf import settings
from django.http import Http404
from django.utils import timezone

from labeling.models import Item, Prediction
from scheduler.models import Gpu, Job
from tests.actors import api_client_for
from tests.stack import wait_for
from training.demo import detection_version_create
from training.detector.model import CentreDetector, DetectorConfig
from training.models import FileRole, ModelFile, ModelVersion, PrelabelState, RegisteredModel
from training.refs import model_version_ref, prelabel_run_ref
from training.selectors.registry import version_folder
from training.services.prelabel import prelabel_ingest, prelabel_run_start, prelabel_stage

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ("panel", "speech_bubble", "text")


@pytest.fixture
def checkout():
    """The detector package where the job's account can read it (pytest's tmp_path is closed to it)."""
    folder = Path(tempfile.mkdtemp(dir=settings.JOB_WORKDIR_ROOT, prefix="prelabel-"))
    shutil.copytree(ROOT / "training" / "detector", folder / "training" / "detector")
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def registered(team, user, *, broken: bool = False, config: DetectorConfig | None = None) -> RegisteredModel:
    """Version 1 of an untrained detector (tiny unless `config` says) that fires often, its files where the
    registry keeps them."""
    model = RegisteredModel.objects.create(team=team, name="tiny-detector", created_by=user)
    version = ModelVersion.objects.create(model=model, number=1, format="state_dict", registered_by=user)
    folder = version_folder(version=version)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    config = config or DetectorConfig(classes=CLASSES, width=8, scale=0.25, tile_height=512, tile_overlap=256)
    detector = CentreDetector(config)
    torch.nn.init.constant_(detector.heatmap.bias, 2.0)
    if broken:
        (folder / "model.pt").write_bytes(b"not a checkpoint")
    else:
        torch.save(detector.state_dict(), folder / "model.pt")
    (folder / "config.json").write_text(json.dumps(config.to_dict()))
    for role, name in ((FileRole.CHECKPOINT, "model.pt"), (FileRole.CONFIG, "config.json")):
        size = (folder / name).stat().st_size
        ModelFile.objects.create(
            version=version, role=role, name=name, stored_name=name, sha256="0" * 64, byte_size=size
        )
    return model


def log_text(user, job):
    return api_client_for(user).get(f"/api/v1/jobs/{job.pk}/log/").json()["data"]


def staged(run, timeout=120.0):
    """The run once the stack's worker staged its inputs and submitted its job (the staging task)."""
    return wait_for(
        lambda: (r := type(run).objects.get(pk=run.pk)).state != PrelabelState.STAGING and r, timeout=timeout
    )


def final(job, timeout=240.0):
    return wait_for(lambda: (j := Job.objects.get(pk=job.pk)).ended_at and j, timeout=timeout)


@pytest.fixture
def fleet(live_stack):
    wait_for(
        lambda: Gpu.objects.filter(node__last_heartbeat__gte=timezone.now() - timezone.timedelta(seconds=5)).exists()
    )
    return live_stack


@pytest.fixture
def strips(researcher, team_a):
    version = detection_version_create(
        user=researcher, team_id=team_a.pk, name="Strips", seeds=range(3), width=480, height=1600
    )
    return version.dataset


def test_a_run_pre_labels_every_item_once_as_a_real_job(fleet, researcher, team_a, strips, checkout):
    model = registered(team_a, researcher)
    run = prelabel_run_start(
        user=researcher, model_id=model.pk, dataset_id=strips.pk, version=1, threshold=0.1, working_dir=str(checkout)
    )
    assert (run.items_total, run.state, run.job) == (3, PrelabelState.STAGING, None)  # nothing copied in the request
    run = staged(run)
    assert run.state == PrelabelState.RUNNING, run.error
    job = final(run.job)
    assert job.state == "succeeded", (job.state_reason, log_text(researcher, job)[-800:])

    run = prelabel_ingest(run_id=run.pk)
    again = prelabel_ingest(run_id=run.pk)  # a second delivery, and a run already ended: nothing doubles
    assert (again.state, again.items_ingested) == (PrelabelState.SUCCEEDED, 3)
    predictions = Prediction.objects.filter(run_ref=prelabel_run_ref(run_id=run.pk))
    assert sorted(predictions.values_list("item_id", flat=True)) == sorted(
        Item.objects.filter(dataset=strips).values_list("id", flat=True)
    )
    version = model.versions.get()
    assert set(predictions.values_list("model_ref", flat=True)) == {model_version_ref(version_id=version.pk)}
    kept = sum(p.shape_count for p in predictions)
    assert kept > 0 and run.summary["kept"] == kept and run.summary["refused"] == 0
    for prediction in predictions:
        for shape in prediction.shapes:
            assert shape["class"] in CLASSES and len(shape["box"]) == 4

    # The ingest from scratch (as if the offset were lost) finds every item there already.
    type(run).objects.filter(pk=run.pk).update(state=PrelabelState.RUNNING, ingest_offset=0)
    assert prelabel_ingest(run_id=run.pk).items_ingested == 3 and predictions.count() == 3


def test_a_checkpoint_that_does_not_load_fails_the_run_with_the_message(fleet, researcher, team_a, strips, checkout):
    model = registered(team_a, researcher, broken=True)
    run = prelabel_run_start(
        user=researcher, model_id=model.pk, dataset_id=strips.pk, version=1, working_dir=str(checkout)
    )
    job = final(staged(run).job)
    assert job.state == "failed"
    run = prelabel_ingest(run_id=run.pk)
    assert run.state == PrelabelState.FAILED and "The checkpoint does not load" in run.error, run.error
    assert run.items_ingested == 0
    assert not Prediction.objects.filter(run_ref=prelabel_run_ref(run_id=run.pk)).exists()


def test_a_run_requeued_mid_job_has_one_prediction_per_item(fleet, researcher, team_a, checkout):
    """The worker is killed while the job is half way (some lines written and ingested): the job is
    requeued, its second attempt predicts only the rest, and every item has exactly one prediction."""
    import signal

    from training.detector.lines import PREDICTIONS_FILE, lines_read

    dataset = detection_version_create(
        user=researcher, team_id=team_a.pk, name="Tall strips", seeds=range(10), width=480, height=4000
    ).dataset
    model = registered(team_a, researcher, config=DetectorConfig(classes=CLASSES))  # the template's size: slower
    run = prelabel_run_start(
        user=researcher, model_id=model.pk, dataset_id=dataset.pk, version=1, threshold=0.1, working_dir=str(checkout)
    )
    run = staged(run)
    output = settings.JOB_DATA_ROOT / f"job-{run.job_id}" / "outputs" / PREDICTIONS_FILE
    wait_for(lambda: len(lines_read(output).records) >= 2, timeout=120)
    assert prelabel_ingest(run_id=run.pk).items_ingested >= 2  # progress stored before the kill
    fleet.stop("worker", sig=signal.SIGKILL)  # the whole worker process group, the job with it
    fleet.ensure_running()

    job = final(run.job, timeout=240)
    assert job.state == "succeeded", (job.state_reason, log_text(researcher, job)[-800:])
    assert list(job.attempts.order_by("number").values_list("state", flat=True)) == ["lost", "succeeded"]
    items = sorted(Item.objects.filter(dataset=dataset).values_list("id", flat=True))
    assert sorted(r["item"] for r in lines_read(output).records) == items  # the second attempt skipped the done
    run = prelabel_ingest(run_id=run.pk)
    assert (run.state, run.items_ingested) == (PrelabelState.SUCCEEDED, 10)
    predictions = Prediction.objects.filter(run_ref=prelabel_run_ref(run_id=run.pk))
    assert sorted(predictions.values_list("item_id", flat=True)) == items


@pytest.mark.django_db
def test_another_teams_model_or_dataset_is_404(researcher, outsider, team_a, strips):
    model = registered(team_a, researcher)
    with pytest.raises(Http404):
        prelabel_run_start(user=outsider, model_id=model.pk, dataset_id=strips.pk, version=1)
    with pytest.raises(Http404):
        prelabel_run_start(user=researcher, model_id=model.pk + 1000, dataset_id=strips.pk, version=1)
    with pytest.raises(Http404):
        prelabel_run_start(user=researcher, model_id=model.pk, dataset_id=strips.pk, alias="nowhere")


@pytest.mark.django_db
def test_the_end_of_a_runs_job_sends_its_ingest_at_once(
    researcher, team_a, strips, gpu, django_capture_on_commit_callbacks
):
    from unittest import mock

    from scheduler.services.jobs import job_cancel
    from training.services.prelabel import INGEST_TASK

    model = registered(team_a, researcher)
    run = prelabel_run_start(user=researcher, model_id=model.pk, dataset_id=strips.pk, version=1)
    run = prelabel_stage(run_id=run.pk)
    with mock.patch("portal.celery.app.send_task") as send, django_capture_on_commit_callbacks(execute=True):
        job_cancel(job=run.job, by=researcher)  # a pending job ends at once

    send.assert_any_call(INGEST_TASK, kwargs={"run_id": run.pk})


def test_a_cancelled_run_stops_within_an_item_and_keeps_what_was_predicted(fleet, researcher, team_a, checkout):
    """Cancel over the API while the job predicts its third of ten tall strips: the job's process is gone
    within seconds, the run ends cancelled, and exactly the items written before the cancel have a
    prediction."""
    import time

    from training.detector.lines import PREDICTIONS_FILE, lines_read

    dataset = detection_version_create(
        user=researcher, team_id=team_a.pk, name="Tall strips", seeds=range(10), width=480, height=4000
    ).dataset
    model = registered(team_a, researcher, config=DetectorConfig(classes=CLASSES))  # the template's size: slower
    run = staged(
        prelabel_run_start(
            user=researcher,
            model_id=model.pk,
            dataset_id=dataset.pk,
            version=1,
            threshold=0.1,
            working_dir=str(checkout),
        )
    )
    output = settings.JOB_DATA_ROOT / f"job-{run.job_id}" / "outputs" / PREDICTIONS_FILE
    wait_for(lambda: len(lines_read(output).records) >= 2, timeout=120)
    asked = time.monotonic()
    answer = api_client_for(researcher).post(f"/api/v1/prelabel-runs/{run.pk}/cancel/")
    assert answer.status_code == 200, answer.content
    job = final(run.job, timeout=60)
    stopped_s = time.monotonic() - asked
    assert job.state == "cancelled" and stopped_s < 15, (job.state, stopped_s)
    run = wait_for(lambda: (r := type(run).objects.get(pk=run.pk)).state != PrelabelState.RUNNING and r, timeout=60)
    written = lines_read(output).records
    assert run.state == PrelabelState.CANCELLED and 2 <= run.items_ingested == len(written) < 10
    predictions = Prediction.objects.filter(run_ref=prelabel_run_ref(run_id=run.pk))
    assert sorted(predictions.values_list("item_id", flat=True)) == sorted(r["item"] for r in written)
