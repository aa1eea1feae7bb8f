"""Pre-label runs choose their items (all, a version's, a grid filter, a selection), stage their inputs in
a task rather than in the request, and can be cancelled (docs/models.md "Pre-label runs")."""

import json
import shutil

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from labeling.models import Item, Slice
from labeling.services.versions import version_create
from labeling.storage import image_path
from portal.errors import Conflict
from scheduler.models import Job, JobState
from tests.actors import api_client_for
from tests.labeling.builders import make_item
from tests.training.test_prelabel_runs import registered
from training.demo import detection_version_create
from training.models import PrelabelRun, PrelabelState
from training.services.prelabel import (
    EMPTY_ITEM_SET,
    REQUESTER_GONE,
    prelabel_ingest,
    prelabel_run_cancel,
    prelabel_run_start,
    prelabel_stage,
)
from training.services.staging import staged_root

pytestmark = pytest.mark.django_db


@pytest.fixture
def strips(researcher, team_a, gpu, settings):
    settings.TRAINING_PRELABEL_WORKDIR = str(settings.JOB_WORKDIR_ROOT)
    version = detection_version_create(
        user=researcher, team_id=team_a.pk, name="Strips", seeds=range(4), width=160, height=480
    )
    return registered(team_a, researcher), version.dataset, version


def start(user, model, dataset, **options) -> PrelabelRun:
    return prelabel_run_start(user=user, model_id=model.pk, dataset_id=dataset.pk, version=1, **options)


def manifest_items(run: PrelabelRun) -> list[int]:
    manifest = json.loads((settings.JOB_DATA_ROOT / f"job-{run.job_id}" / "inputs" / "manifest.json").read_text())
    return [entry["item"] for entry in manifest["items"]]


def test_the_request_stages_nothing_and_the_task_submits_the_job_with_the_items(researcher, strips):
    model, dataset, _ = strips
    run = start(researcher, model, dataset)
    assert (run.state, run.job, run.items_total) == (PrelabelState.STAGING, None, 4)
    assert not Job.objects.exists()

    run = prelabel_stage(run_id=run.pk)
    assert run.state == PrelabelState.RUNNING and run.job.command == "python -m training.detector.prelabel"
    assert manifest_items(run) == sorted(Item.objects.filter(dataset=dataset).values_list("id", flat=True))
    assert not list(staged_root().glob(f"prelabel-{run.pk}-*")), "the staging folder became the job's inputs"

    again = prelabel_stage(run_id=run.pk)  # a second delivery of the task
    assert again.job_id == run.job_id and Job.objects.count() == 1


def test_a_version_a_filter_or_a_selection_chooses_the_items(researcher, strips):
    model, dataset, frozen = strips
    items = sorted(Item.objects.filter(dataset=dataset).values_list("id", flat=True))
    added = make_item(dataset, name="added after the version")  # not in version 1
    picture = Slice.objects.filter(item_id=items[1]).get().sha256
    shutil.copyfile(
        image_path(dataset_id=dataset.pk, sha256=picture),
        image_path(dataset_id=dataset.pk, sha256=added.slices.get().sha256),
    )
    Item.objects.filter(pk=items[0]).update(status="done")

    by_version = prelabel_stage(run_id=start(researcher, model, dataset, dataset_version_id=frozen.pk).pk)
    assert manifest_items(by_version) == items and by_version.items_total == 4
    by_filter = prelabel_stage(run_id=start(researcher, model, dataset, scope="filter", filters={"status": "done"}).pk)
    assert manifest_items(by_filter) == [items[0]]
    chosen = [items[2], added.pk]
    by_selection = prelabel_stage(run_id=start(researcher, model, dataset, scope="selection", item_ids=chosen).pk)
    assert manifest_items(by_selection) == sorted(chosen)
    newest = version_create(dataset=dataset, user=researcher, seed=1)
    narrowed = start(researcher, model, dataset, scope="selection", item_ids=chosen, dataset_version_id=newest.pk)
    assert narrowed.items_total == 2


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"scope": "filter", "filters": {"status": "nonsense"}}, "status"),
        ({"scope": "somewhere"}, "scope"),
        ({"scope": "selection"}, "items"),
        ({"filters": {"status": "new"}}, "filter"),
        ({"scope": "filter", "filters": {"class": "no-such-class"}}, "scope"),  # nothing matches
        ({"dataset_version_id": 999_999}, "version"),
        ({"scope": "selection", "item_ids": [999_999]}, "items"),
        ({"gpus": 64}, "gpus"),  # the job's own refusal: the cluster has one GPU
    ],
)
def test_a_bad_item_set_or_job_is_refused_at_once_naming_the_field(researcher, strips, options, field):
    model, dataset, _ = strips
    with pytest.raises(ValidationError) as refused:
        start(researcher, model, dataset, **options)
    assert field in refused.value.message_dict, refused.value.message_dict
    if field == "scope" and "filters" in options:
        assert refused.value.message_dict["scope"] == [EMPTY_ITEM_SET]
    assert not PrelabelRun.objects.exists() and not Job.objects.exists()


def test_a_refusal_at_staging_time_fails_the_run_with_the_reason(researcher, strips):
    model, dataset, _ = strips
    run = start(researcher, model, dataset)
    PrelabelRun.objects.filter(pk=run.pk).update(requested_by=None)  # the account was deleted meanwhile
    run = prelabel_stage(run_id=run.pk)
    assert (run.state, run.error, run.job) == (PrelabelState.FAILED, REQUESTER_GONE, None)
    assert not list(staged_root().glob(f"prelabel-{run.pk}-*"))


def test_cancel_while_staging_ends_the_run_and_the_task_then_submits_nothing(researcher, strips):
    model, dataset, _ = strips
    run = prelabel_run_cancel(user=researcher, run_id=start(researcher, model, dataset).pk)
    assert run.state == PrelabelState.CANCELLED and "before its job started" in run.error
    assert prelabel_stage(run_id=run.pk).state == PrelabelState.CANCELLED
    assert not Job.objects.exists() and not list(staged_root().glob(f"prelabel-{run.pk}-*"))
    with pytest.raises(Conflict):
        prelabel_run_cancel(user=researcher, run_id=run.pk)


def test_cancel_stops_a_running_runs_job_and_the_run_ends_cancelled(researcher, strips):
    model, dataset, _ = strips
    run = prelabel_stage(run_id=start(researcher, model, dataset).pk)
    prelabel_run_cancel(user=researcher, run_id=run.pk)
    assert Job.objects.get(pk=run.job_id).state == JobState.CANCELLED  # still pending: it ends at once
    run = prelabel_ingest(run_id=run.pk)
    assert run.state == PrelabelState.CANCELLED and run.finished_at is not None


def test_only_the_team_cancels_and_another_team_gets_404(researcher, annotator, outsider, strips):
    model, dataset, _ = strips
    run = start(researcher, model, dataset)
    with pytest.raises(Http404):
        prelabel_run_cancel(user=outsider, run_id=run.pk)
    with pytest.raises((PermissionDenied, Http404)):
        prelabel_run_cancel(user=annotator, run_id=run.pk)
    api = api_client_for(researcher)
    assert api.post(f"/api/v1/prelabel-runs/{run.pk}/cancel/").json()["state"] == "cancelled"
    again = api.post(f"/api/v1/prelabel-runs/{run.pk}/cancel/")
    assert again.status_code == 409 and "already ended" in again.json()["detail"], again.content
    assert api_client_for(outsider).post(f"/api/v1/prelabel-runs/{run.pk}/cancel/").status_code == 404


def test_the_api_takes_the_item_set(researcher, strips):
    model, dataset, frozen = strips
    body = {"model": model.pk, "version": 1, "dataset": dataset.pk, "dataset_version": frozen.pk}
    answer = api_client_for(researcher).post("/api/v1/prelabel-runs/", body | {"scope": "filter"}, format="json")
    assert answer.status_code == 202, answer.content  # an empty filter: every item of the version
    assert answer.json()["item_set"] == {"scope": "filter", "filter": {}, "items": [], "version": frozen.pk}
    bad = api_client_for(researcher).post(
        "/api/v1/prelabel-runs/", body | {"scope": "filter", "filter": {"kind": "video"}}, format="json"
    )
    assert bad.status_code == 400 and "kind" in bad.json()["errors"], bad.content


def test_a_disk_error_while_staging_fails_the_run_and_leaves_no_folder(researcher, strips, monkeypatch):
    model, dataset, _ = strips
    run = start(researcher, model, dataset)

    def full(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("training.services.prelabel.readable_link_or_copy", full)
    run = prelabel_stage(run_id=run.pk)
    assert run.state == PrelabelState.FAILED and "No space left on device" in run.error
    assert run.job is None and not Job.objects.exists()
    assert not list(staged_root().glob(f"prelabel-{run.pk}-*"))


def test_beats_sweep_removes_the_folder_a_killed_staging_left_once_the_run_is_staged(researcher, strips):
    from training.services.prelabel import prelabel_sweep

    model, dataset, _ = strips
    staged_run = start(researcher, model, dataset)
    waiting = start(researcher, model, dataset)
    root = staged_root()
    left = root / f"prelabel-{staged_run.pk}-deadbeef"  # its worker was killed mid-copy
    building = root / f"prelabel-{waiting.pk}-cafe"  # a delivery still at work
    for folder in (left, building):
        (folder / "images").mkdir(parents=True)
    prelabel_stage(run_id=staged_run.pk)  # another delivery staged it
    prelabel_sweep()
    assert not left.exists() and building.exists()
