"""The training demo (training/demo.py): the seed only asks the worker for it; the worker builds generated
strips annotated through labeling's import, a frozen version, and a staged job that will train the
detector and register it."""

import pytest

from labeling.models import Dataset, VersionItem
from labeling.services.versions import split_of
from portal.demo import demo_seed
from training.demo import DEMO_COMMAND, DEMO_DATASET, DEMO_MODEL, DEMO_PIPELINE, DEMO_TASK, demo_training_build
from training.models import InputStaging, Pipeline, StagingState

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_training(settings, monkeypatch):
    settings.DEMO_TRAINING = True
    monkeypatch.setattr("training.demo.DEMO_STRIPS", 8)  # the demo's 24 take a minute to ingest here


def test_the_seed_leaves_the_demo_to_the_worker(django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr("portal.celery.app.send_task", lambda name, **kwargs: sent.append(name))
    with django_capture_on_commit_callbacks(execute=True):
        demo_seed()
    assert DEMO_TASK in sent and not Dataset.objects.filter(name=DEMO_DATASET).exists()


def test_the_demo_stages_a_training_job_on_an_annotated_version_and_building_again_changes_nothing():
    demo_seed()
    demo_training_build()
    demo_training_build()

    dataset = Dataset.objects.get(name=DEMO_DATASET)
    version = dataset.versions.get()
    # Splits follow labeling's hash of item ids (¾ train, ¼ val), so how many land in each depends on the
    # ids the database gave (8 strips: fewer than 4 in train for about 1 run in 40); the training script
    # evaluates on train when a version has no val.
    rows = VersionItem.objects.filter(version=version)
    ratios = {"train": 0.75, "val": 0.25, "test": 0.0}
    assert {(r.item_id, r.split) for r in rows} == {
        (r.item_id, split_of(seed=1, item_id=r.item_id, ratios=ratios)) for r in rows
    }
    assert rows.count() == 8
    assert set(version.stats["classes"]) == {"panel", "speech_bubble", "text"}
    staging = InputStaging.objects.get()
    assert (staging.dataset_version, staging.state, staging.register_as) == (version, StagingState.STAGING, DEMO_MODEL)
    assert staging.job_spec["command"] == DEMO_COMMAND and "--max-seconds" in DEMO_COMMAND
    assert staging.export.options["include_images"] is True


def test_the_demo_has_the_detector_loop_pipeline_on_its_dataset_ready_to_run():
    demo_seed()
    demo_training_build()
    demo_training_build()

    pipeline = Pipeline.objects.get(name=DEMO_PIPELINE)
    dataset = Dataset.objects.get(name=DEMO_DATASET)
    assert pipeline.owner.username == "researcher" and pipeline.versions.count() == 1
    assert pipeline.versions.get().document["parameters"]["dataset"]["default"] == dataset.pk
