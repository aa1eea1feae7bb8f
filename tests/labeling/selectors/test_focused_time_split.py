"""Active time of tasks on items a model version pre-labelled, against items of the same datasets
that nobody pre-labelled: the figures behind a model version's "active time per item" (both databases)."""

import pytest

from labeling.models import Task
from labeling.selectors.predictions import FocusedTime, focused_time_split
from labeling.services.datasets import dataset_create
from tests.factories import PredictionFactory
from tests.labeling.builders import box, make_item, make_task

pytestmark = pytest.mark.django_db


def timed_task(item, seconds, *, saved=True, overlap_index=0):
    task = make_task(item, shapes=[box("a", "panel")] if saved else None, overlap_index=overlap_index)
    Task.objects.filter(pk=task.pk).update(focused_seconds=seconds)
    return task


def test_it_splits_the_time_of_labelled_tasks_by_whether_the_model_predicted_their_item(dataset):
    one, two, three, four = (make_item(dataset, name=n) for n in ("one", "two", "three", "four"))
    PredictionFactory(item=one, model_ref="det@1")
    PredictionFactory(item=two, model_ref="det@1")
    timed_task(one, 30)
    timed_task(one, 50, overlap_index=1)
    timed_task(two, 40)
    timed_task(three, 120)
    timed_task(four, 100)

    split = focused_time_split(model_refs=["det@1"])["det@1"]

    assert split.with_predictions == FocusedTime(tasks=3, seconds=120)
    assert split.with_predictions.mean_seconds == 40
    assert split.without_predictions == FocusedTime(tasks=2, seconds=220)
    assert split.without_predictions.mean_seconds == 110


def test_unsaved_untimed_and_other_models_items_count_on_neither_side(dataset):
    mine, theirs, unsaved, imported = (make_item(dataset, name=n) for n in ("mine", "theirs", "unsaved", "imported"))
    PredictionFactory(item=mine, model_ref="det@1")
    PredictionFactory(item=theirs, model_ref="det@2")
    timed_task(mine, 60)
    timed_task(theirs, 500)  # another version's suggestions: neither "with" det@1 nor "without" any
    timed_task(unsaved, 70, saved=False)
    timed_task(imported, 0)  # a document imported, never worked on here

    split = focused_time_split(model_refs=["det@1", "det@3"])

    assert split["det@1"].with_predictions == FocusedTime(tasks=1, seconds=60)
    assert split["det@1"].without_predictions == FocusedTime(tasks=0, seconds=0)
    assert split["det@1"].without_predictions.mean_seconds is None
    assert split["det@3"].with_predictions == FocusedTime() and split["det@3"].without_predictions == FocusedTime()


def test_items_without_predictions_come_from_the_datasets_the_model_predicted_in(dataset, team_a, researcher):
    other = dataset_create(user=researcher, team_id=team_a.pk, name="Other strips")
    predicted, beside, elsewhere = (
        make_item(dataset, name="p"),
        make_item(dataset, name="b"),
        make_item(other, name="e"),
    )
    PredictionFactory(item=predicted, model_ref="det@1")
    timed_task(predicted, 10)
    timed_task(beside, 20)
    timed_task(elsewhere, 999)

    split = focused_time_split(model_refs=["det@1"])["det@1"]

    assert split.without_predictions == FocusedTime(tasks=1, seconds=20)
