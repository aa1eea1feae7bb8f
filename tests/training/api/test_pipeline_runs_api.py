"""Pipeline runs over REST: start by name or id (202 + Location), every bad parameter named, another
team's runs are a 404, annotators may not start one, cancel, re-run from failure, forget a cache entry."""

import pytest

from tests.actors import api_client_for
from tests.training.test_pipeline_runs import LOOP
from training.models import PipelineRun, StepRun
from training.services.pipeline_runs import pipeline_run_advance
from training.services.pipelines import pipeline_create


@pytest.fixture
def pipeline(researcher, team_a, workdir):
    return pipeline_create(user=researcher, team_id=team_a.pk, name="loop", text=LOOP)


def start(user, **body):
    return api_client_for(user).post("/api/v1/pipeline-runs/", body, format="json")


def test_a_researcher_starts_a_run_by_name_and_reads_its_steps(researcher, pipeline, dataset):
    response = start(researcher, name="loop", parameters={"dataset": str(dataset.pk), "epochs": "4"})

    assert response.status_code == 202, response.content
    run = PipelineRun.objects.get()
    assert response["Location"] == f"/api/v1/pipeline-runs/{run.pk}/"
    assert run.parameters == {"dataset": dataset.pk, "epochs": 4, "threshold": 0.5}
    pipeline_run_advance(run_id=run.pk)
    shown = api_client_for(researcher).get(response["Location"]).json()
    assert [s["name"] for s in shown["steps"]] == ["freeze", "export", "train", "evaluate", "register", "promote"]
    freeze = shown["steps"][0]
    assert freeze["state"] == "succeeded" and len(freeze["cache_key"]) == 64 and freeze["cache_note"]
    assert freeze["outputs"]["version"]["kind"] == "dataset_version"


def test_bad_parameters_are_a_400_naming_each_and_start_nothing(researcher, pipeline):
    response = start(researcher, pipeline=pipeline.pk, parameters={"dataset": "three", "speed": 1})

    assert response.status_code == 400
    body = response.json()
    assert set(body["errors"]) >= {"parameters.dataset", "parameters.speed"}, body
    assert not PipelineRun.objects.exists()


def test_another_teams_pipeline_and_run_are_404_and_annotators_may_not_start(
    researcher,
    outsider,
    annotator,
    pipeline,
    dataset,
):
    assert start(outsider, pipeline=pipeline.pk, parameters={"dataset": dataset.pk}).status_code == 404
    assert start(outsider, name="loop", parameters={"dataset": dataset.pk}).status_code == 404
    assert start(annotator, pipeline=pipeline.pk, parameters={"dataset": dataset.pk}).status_code == 403
    run_id = start(researcher, pipeline=pipeline.pk, parameters={"dataset": dataset.pk}).json()["id"]
    assert api_client_for(outsider).get(f"/api/v1/pipeline-runs/{run_id}/").status_code == 404
    assert api_client_for(outsider).post(f"/api/v1/pipeline-runs/{run_id}/cancel/").status_code == 404
    assert api_client_for(outsider).get("/api/v1/pipeline-runs/").json()["count"] == 0


def test_cancel_then_rerun_from_failure_reuses_the_finished_steps(researcher, pipeline, dataset):
    run_id = start(researcher, pipeline=pipeline.pk, parameters={"dataset": dataset.pk}).json()["id"]
    pipeline_run_advance(run_id=run_id)
    client = api_client_for(researcher)

    cancelled = client.post(f"/api/v1/pipeline-runs/{run_id}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert client.post(f"/api/v1/pipeline-runs/{run_id}/cancel/").status_code == 400
    again = client.post(f"/api/v1/pipeline-runs/{run_id}/rerun/")
    assert again.status_code == 202
    steps = {s["name"]: s for s in again.json()["steps"]}
    assert steps["freeze"]["state"] == "succeeded" and steps["freeze"]["cache_hit_of"]["run"] == run_id
    assert again.json()["rerun_of"] == run_id


def test_forgetting_a_steps_cache_entry(researcher, pipeline, dataset):
    run_id = start(researcher, pipeline=pipeline.pk, parameters={"dataset": dataset.pk}).json()["id"]
    pipeline_run_advance(run_id=run_id)
    client = api_client_for(researcher)

    forgotten = client.post(f"/api/v1/pipeline-runs/{run_id}/steps/freeze/forget-cache/")
    assert forgotten.status_code == 200 and forgotten.json()["cache_forgotten"] is True
    assert StepRun.objects.get(run_id=run_id, name="freeze").cache_forgotten
    assert client.post(f"/api/v1/pipeline-runs/{run_id}/steps/nope/forget-cache/").status_code == 404
