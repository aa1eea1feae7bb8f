"""The pipeline run pages through the Django client: the run's graph and step table, its actions
(cancel, re-run from failure, forget a cache entry), the run history; another team's run is a 404."""

import pytest
from django.test import Client

from tests.training.test_pipeline_runs import LOOP
from training.models import PipelineRun, StepRun
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
