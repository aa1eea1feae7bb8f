"""/api/v1/prelabel-runs/: 202 with a Location to the run, 404 for another team's model, dataset or run,
400 naming the bad field with nothing written."""

import pytest

from scheduler.models import Job
from tests.actors import api_client_for
from tests.training.test_prelabel_runs import registered
from training.demo import detection_version_create
from training.models import PrelabelRun
from training.services.prelabel import prelabel_stage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def gpu(db):
    from tests.scheduler.factories import GpuFactory

    return GpuFactory(model="prelabel-test-gpu")


@pytest.fixture
def setup(researcher, team_a, settings):
    settings.TRAINING_PRELABEL_WORKDIR = str(settings.JOB_WORKDIR_ROOT)
    version = detection_version_create(
        user=researcher, team_id=team_a.pk, name="Strips", seeds=range(2), width=160, height=480
    )
    return registered(team_a, researcher), version.dataset


def test_start_answers_202_with_the_run_and_it_reads_back(researcher, setup):
    model, dataset = setup
    api = api_client_for(researcher)
    response = api.post(
        "/api/v1/prelabel-runs/", {"model": model.pk, "version": 1, "dataset": dataset.pk}, format="json"
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == f"/api/v1/prelabel-runs/{body['id']}/"
    assert (body["state"], body["version"], body["items_total"], body["progress"]) == ("staging", 1, 2, 0.0)
    assert body["job"] is None and body["item_set"] == {"scope": "all", "filter": {}, "items": [], "version": None}
    prelabel_stage(run_id=body["id"])  # the staging task
    body = api.get(response["Location"]).json()
    assert body["state"] == "running"
    assert Job.objects.get(pk=body["job"]).command == "python -m training.detector.prelabel"
    assert api.get(response["Location"]).json()["id"] == body["id"]
    assert [r["id"] for r in api.get("/api/v1/prelabel-runs/").json()["results"]] == [body["id"]]


def test_another_team_gets_404_and_bad_fields_are_named(researcher, outsider, setup):
    model, dataset = setup
    outside = api_client_for(outsider)
    start = {"model": model.pk, "version": 1, "dataset": dataset.pk}
    assert outside.post("/api/v1/prelabel-runs/", start, format="json").status_code == 404
    run = api_client_for(researcher).post("/api/v1/prelabel-runs/", start, format="json").json()
    assert outside.get(f"/api/v1/prelabel-runs/{run['id']}/").status_code == 404
    assert outside.get("/api/v1/prelabel-runs/").json()["results"] == []
    assert api_client_for(researcher).get("/api/v1/prelabel-runs/999999/").status_code == 404
    bad = api_client_for(researcher).post("/api/v1/prelabel-runs/", start | {"threshold": 2}, format="json")
    assert (
        bad.status_code == 400 and "threshold" in bad.json()["errors"]
        if "errors" in bad.json()
        else "threshold" in bad.json()
    )
    both = api_client_for(researcher).post("/api/v1/prelabel-runs/", start | {"alias": "production"}, format="json")
    assert both.status_code == 400 and "version" in both.json()["errors"]
    assert PrelabelRun.objects.count() == 1


def test_the_version_pages_form_starts_a_run_and_its_page_shows_progress(client, researcher, outsider, setup):
    model, dataset = setup
    client.force_login(researcher)
    page = client.get(f"/models/{model.pk}/versions/1/")
    assert b"Pre-label a dataset" in page.content
    response = client.post(
        f"/models/{model.pk}/versions/1/prelabel/", {"items": f"dataset:{dataset.pk}", "threshold": "0.2"}
    )
    run = PrelabelRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/models/prelabel-runs/{run.pk}/"
    shown = client.get(response["Location"])
    assert b"0 of 2 items ingested" in shown.content
    client.force_login(outsider)
    assert client.get(f"/models/prelabel-runs/{run.pk}/").status_code == 404


def test_the_form_offers_the_teams_datasets_and_versions_takes_a_filter_and_the_run_page_cancels(
    client, researcher, setup, team_b
):
    from labeling.services.datasets import dataset_create
    from tests.factories import MembershipFactory

    model, dataset = setup
    frozen = dataset.versions.get()
    MembershipFactory(team=team_b, user=researcher, is_researcher=True)
    dataset_create(user=researcher, team_id=team_b.pk, name="Another team's strips")
    client.force_login(researcher)
    form = client.get(f"/models/{model.pk}/versions/1/").content.decode()
    assert f'value="dataset:{dataset.pk}"' in form and f'value="version:{dataset.pk}:{frozen.pk}"' in form
    assert "Another team" not in form  # the model's team only

    response = client.post(
        f"/models/{model.pk}/versions/1/prelabel/",
        {"items": f"version:{dataset.pk}:{frozen.pk}", "filter": "?status=new&kind=", "threshold": "0.3"},
    )
    run = PrelabelRun.objects.get()
    assert response["Location"] == f"/models/prelabel-runs/{run.pk}/"
    assert run.item_set == {
        "scope": "filter",
        "filter": {"status": "new"},  # empty grid parameters are dropped (jsonb would reorder them)
        "items": [],
        "version": frozen.pk,
    }
    page = client.get(response["Location"]).content.decode()
    assert "filtered: status=new" in page and "Cancel run" in page and "staged" in page

    cancelled = client.post(f"/models/prelabel-runs/{run.pk}/cancel/", follow=True).content.decode()
    assert "Cancelled" in cancelled and "Cancel run" not in cancelled
    assert PrelabelRun.objects.get().state == "cancelled"
    refused = client.post(f"/models/{model.pk}/versions/1/prelabel/", {"items": "dataset:x"}, follow=True)
    assert "Choose the items to pre-label" in refused.content.decode()
