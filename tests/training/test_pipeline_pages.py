"""The pipeline run pages through the Django client: the run's graph and step table, its actions
(cancel, re-run from failure, forget a cache entry), the run history; another team's run is a 404."""

import pytest
from django.test import Client

from tests.training.test_pipeline_runs import LOOP, loop_through
from training.models import Pipeline, PipelineRun, StepRun
from training.services.pipeline_runs import pipeline_run_advance, pipeline_run_start
from training.services.pipelines import pipeline_create


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def run(researcher, team_a, workdir, dataset):
    pipeline = pipeline_create(user=researcher, team_id=team_a.pk, name="loop", text=LOOP)
    run = pipeline_run_start(user=researcher, pipeline=pipeline, parameters={"dataset": dataset.pk})
    pipeline_run_advance(run_id=run.pk)
    return run


def test_the_run_page_draws_every_step_and_tables_them(researcher, run):
    page = client_for(researcher).get(f"/pipelines/runs/{run.pk}/")

    assert page.status_code == 200
    html = page.content.decode()
    for name in ("freeze", "export", "train", "evaluate", "register", "promote"):
        assert f'data-step="{name}"' in html
    assert 'data-step="freeze" data-state="succeeded"' in html
    assert (
        html.count('class="dag-edge"') == 6
    )  # freeze→export→train→evaluate, train→register, evaluate→register, register→promote
    assert "Missed: no earlier run" in html
    fragment = client_for(researcher).get(f"/pipelines/runs/{run.pk}/graph/")
    assert fragment.status_code == 200 and b'id="run-graph-body"' in fragment.content


def test_cancel_and_rerun_from_the_page(researcher, run):
    client = client_for(researcher)
    client.post(f"/pipelines/runs/{run.pk}/", {"action": "cancel"})
    run.refresh_from_db()
    assert run.state == "cancelled"

    response = client.post(f"/pipelines/runs/{run.pk}/", {"action": "rerun"})
    again = PipelineRun.objects.exclude(pk=run.pk).get()
    assert response["Location"] == f"/pipelines/runs/{again.pk}/"
    assert again.rerun_of == run


def test_forget_a_cache_entry_from_the_page(researcher, run):
    client_for(researcher).post(f"/pipelines/runs/{run.pk}/", {"action": "forget", "step": "freeze"})
    assert StepRun.objects.get(run=run, name="freeze").cache_forgotten


def test_run_history_lists_the_teams_runs_only(researcher, outsider, run):
    assert f'href="/pipelines/runs/{run.pk}/"' in client_for(researcher).get("/pipelines/runs/").content.decode()
    assert f'href="/pipelines/runs/{run.pk}/"' not in client_for(outsider).get("/pipelines/runs/").content.decode()
    assert client_for(outsider).get(f"/pipelines/runs/{run.pk}/").status_code == 404
    assert client_for(outsider).post(f"/pipelines/runs/{run.pk}/", {"action": "cancel"}).status_code == 404


def test_the_pipeline_list_and_a_new_pipeline_from_the_editor(researcher, team_a, annotator):
    client = client_for(researcher)
    assert b'id="new-pipeline"' in client.get("/pipelines/").content

    bad = client.post("/pipelines/new/", {"team": team_a.pk, "name": "loop", "spec": "steps:\n  a: {type: nope}\n"})
    assert bad.status_code == 200 and "<code>spec.steps.a.type</code>" in bad.content.decode()
    assert not Pipeline.objects.exists()
    good = client.post("/pipelines/new/", {"team": team_a.pk, "name": "loop", "spec": LOOP})
    pipeline = Pipeline.objects.get()
    assert good["Location"] == f"/pipelines/{pipeline.pk}/"
    assert client_for(annotator).get("/pipelines/new/").status_code == 403


def test_the_pipeline_page_saves_versions_and_starts_runs_with_typed_parameters(researcher, team_a, workdir, dataset):
    pipeline = pipeline_create(user=researcher, team_id=team_a.pk, name="loop", text=LOOP)
    client = client_for(researcher)
    page = client.get(f"/pipelines/{pipeline.pk}/").content.decode()
    assert 'name="param-dataset"' in page and 'name="param-epochs"' in page

    refused = client.post(f"/pipelines/{pipeline.pk}/", {"action": "run", "param-dataset": "x", "use_cache": "on"})
    assert refused.status_code == 200 and "Expected a whole number" in refused.content.decode()
    started = client.post(f"/pipelines/{pipeline.pk}/", {"action": "run", "param-dataset": str(dataset.pk)})
    run = PipelineRun.objects.get()
    assert started["Location"] == f"/pipelines/runs/{run.pk}/"
    assert (run.parameters["dataset"], run.use_cache) == (dataset.pk, False)

    client.post(f"/pipelines/{pipeline.pk}/", {"action": "save", "spec": LOOP.replace("default: 3", "default: 4")})
    assert pipeline.versions.count() == 2
    assert "default: 4" in client.get(f"/pipelines/{pipeline.pk}/versions/2/").content.decode()


def test_a_finished_runs_artifacts_link_to_their_files(researcher, run, gpu):
    run = loop_through(run, gpu)
    html = client_for(researcher).get(f"/pipelines/runs/{run.pk}/").content.decode()

    export = StepRun.objects.get(run=run, name="export").outputs["export"]
    checkpoint = StepRun.objects.get(run=run, name="train").outputs["checkpoint"]
    assert f'href="/api/v1/export-jobs/{export["id"]}/download/"' in html
    assert f'href="/api/v1/jobs/{checkpoint["job"]}/outputs/model.pt" download' in html
