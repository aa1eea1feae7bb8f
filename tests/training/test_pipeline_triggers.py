"""Runs that start on their own: on a dataset's new version (through labeling's signal, which training
connects) and on a crontab schedule (a django-celery-beat periodic task), with the owner's rights."""

from unittest import mock

import pytest
from django_celery_beat.models import PeriodicTask

from labeling.services.versions import version_create
from tests.actors import api_client_for
from training.models import PipelineRun
from training.services.pipeline_runs import (
    pipeline_start_scheduled,
    pipeline_triggers_set,
    runs_start_for_new_version,
)
from training.services.pipelines import pipeline_create

SPEC = """
parameters: {dataset: {type: int}, note: {type: str, default: hello}}
steps:
  version: {type: dataset.version, parameters: {dataset: "{{ params.dataset }}", version: latest}}
"""


@pytest.fixture
def pipeline(researcher, team_a, workdir):
    return pipeline_create(user=researcher, team_id=team_a.pk, name="watcher", text=SPEC)


def test_a_new_version_of_the_watched_dataset_sends_the_trigger_task(
    researcher,
    pipeline,
    dataset,
    django_capture_on_commit_callbacks,
):
    pipeline_triggers_set(user=researcher, pipeline=pipeline, dataset_id=dataset.pk, parameters={"dataset": dataset.pk})
    with mock.patch("portal.celery.app.send_task") as send, django_capture_on_commit_callbacks(execute=True):
        version = version_create(dataset=dataset, user=researcher, seed=1)

    send.assert_any_call(
        "training.pipeline_dataset_frozen", kwargs={"version_id": version.pk, "dataset_id": dataset.pk}
    )
    run = runs_start_for_new_version(dataset_id=dataset.pk)[0]
    assert (run.trigger, run.started_by, run.parameters) == (
        "dataset",
        researcher,
        {"dataset": dataset.pk, "note": "hello"},
    )
    assert runs_start_for_new_version(dataset_id=dataset.pk) == []  # one run at a time: the first is still going


def test_a_schedule_is_a_periodic_task_whose_runs_have_the_owners_rights(researcher, pipeline, dataset):
    pipeline_triggers_set(
        user=researcher, pipeline=pipeline, dataset_id=None, parameters={"dataset": dataset.pk}, crontab="0 3 * * 1"
    )
    task = PeriodicTask.objects.get(name=f"pipeline {pipeline.pk}")
    assert (task.task, task.kwargs, str(task.crontab.hour), task.enabled) == (
        "training.pipeline_start_scheduled",
        f'{{"pipeline_id": {pipeline.pk}}}',
        "3",
        True,
    )
    run = pipeline_start_scheduled(pipeline_id=pipeline.pk)
    assert (run.trigger, run.started_by) == ("schedule", researcher)

    pipeline_triggers_set(user=researcher, pipeline=pipeline, dataset_id=None, parameters={"dataset": dataset.pk})
    assert not PeriodicTask.objects.filter(name=f"pipeline {pipeline.pk}").exists()


def test_bad_triggers_are_a_400_naming_each_problem(researcher, outsider, pipeline, dataset):
    client = api_client_for(researcher)
    response = client.put(
        f"/api/v1/pipelines/{pipeline.pk}/triggers/",
        {"dataset": dataset.pk, "parameters": {"dataset": "x"}, "schedule": "every monday"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"parameters.dataset", "schedule"}
    assert (
        client.put(
            f"/api/v1/pipelines/{pipeline.pk}/triggers/",
            {"parameters": {"dataset": dataset.pk}, "schedule": "0 99 * * *"},
            format="json",
        ).status_code
        == 400
    )
    good = client.put(
        f"/api/v1/pipelines/{pipeline.pk}/triggers/",
        {"dataset": dataset.pk, "parameters": {"dataset": dataset.pk}, "schedule": "30 2 * * *"},
        format="json",
    )
    assert good.status_code == 200 and good.json()["schedule"] == "30 2 * * *"
    assert api_client_for(outsider).get(f"/api/v1/pipelines/{pipeline.pk}/triggers/").status_code == 404
    assert not PipelineRun.objects.exists()
