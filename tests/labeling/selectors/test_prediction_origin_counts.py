"""What people did with a model version's suggestions, counted from the latest documents by origin:
the figures training/ turns into acceptance and edit rates per model version (both databases)."""

import pytest

from labeling.documents import prediction_shape_ref
from labeling.selectors.predictions import OriginCounts, prediction_origin_counts, predictions_for_item
from labeling.services.annotation_tasks import task_assign, tasks_create
from labeling.services.annotations import annotation_save
from labeling.services.predictions import predictions_record
from tests.factories import PredictionFactory
from tests.labeling.builders import box, make_item, make_task

pytestmark = pytest.mark.django_db


def accepted(shape_id, prediction, predicted_id):
    return {
        **box(shape_id, "panel"),
        "origin": {"kind": "prediction_accepted", "prediction": ref(prediction, predicted_id)},
    }


def edited(shape_id, prediction, predicted_id):
    return {
        **box(shape_id, "panel"),
        "origin": {"kind": "prediction_edited", "prediction": ref(prediction, predicted_id)},
    }


def ref(prediction, predicted_id):
    return prediction_shape_ref(prediction.pk, predicted_id)


def predicted_boxes(count):
    return [{**box(f"p{n}", "panel"), "score": 0.9} for n in range(1, count + 1)]


def test_it_counts_accepted_edited_and_manual_shapes_against_what_was_predicted(dataset):
    first, second = make_item(dataset, name="one"), make_item(dataset, name="two")
    on_first = PredictionFactory(item=first, model_ref="det@1", shapes=predicted_boxes(4))
    on_second = PredictionFactory(item=second, model_ref="det@1", shapes=predicted_boxes(2))
    make_task(first, shapes=[accepted("a", on_first, "p1"), accepted("b", on_first, "p2"), edited("c", on_first, "p3")])
    make_task(second, shapes=[edited("a", on_second, "p1"), box("m1", "panel"), box("m2", "speech_bubble")])

    counts = prediction_origin_counts(model_refs=["det@1"])

    assert counts == {"det@1": OriginCounts(documents=2, predicted=6, accepted=2, edited=2, manual=2)}


def test_each_model_version_gets_only_its_own_suggestions(dataset):
    strip = make_item(dataset, name="one")
    old = PredictionFactory(item=strip, model_ref="det@1", shapes=predicted_boxes(3))
    new = PredictionFactory(item=strip, model_ref="det@2", shapes=predicted_boxes(1))
    make_task(strip, shapes=[accepted("a", old, "p1"), edited("b", new, "p1"), box("m", "panel")])

    counts = prediction_origin_counts(model_refs=["det@1", "det@2", "det@3"])

    assert counts["det@1"] == OriginCounts(documents=1, predicted=3, accepted=1, edited=0, manual=1)
    assert counts["det@2"] == OriginCounts(documents=1, predicted=1, accepted=0, edited=1, manual=1)
    assert counts["det@3"] == OriginCounts()


def test_every_annotators_document_counts_and_unsaved_ones_do_not(dataset, annotator, reviewer):
    strip = make_item(dataset, name="one")
    prediction = PredictionFactory(item=strip, model_ref="det@1", shapes=predicted_boxes(2))
    make_task(strip, assignee=annotator, shapes=[accepted("a", prediction, "p1")])
    make_task(strip, assignee=reviewer, overlap_index=1, shapes=[accepted("a", prediction, "p1"), box("m", "panel")])
    make_task(make_item(dataset, name="untouched"), overlap_index=0)
    PredictionFactory(item=dataset.items.get(name="untouched"), model_ref="det@1", shapes=predicted_boxes(5))

    counts = prediction_origin_counts(model_refs=["det@1"])

    assert counts["det@1"] == OriginCounts(documents=2, predicted=4, accepted=2, edited=0, manual=1)


def test_a_later_run_of_the_same_version_replaces_what_was_offered_and_old_references_still_count(dataset):
    strip = make_item(dataset, name="one")
    earlier = PredictionFactory(item=strip, model_ref="det@1", shapes=predicted_boxes(5))
    PredictionFactory(item=strip, model_ref="det@1", shapes=predicted_boxes(2))
    make_task(strip, shapes=[accepted("a", earlier, "p4")])

    assert prediction_origin_counts(model_refs=["det@1"])["det@1"] == OriginCounts(documents=1, predicted=2, accepted=1)


def test_it_can_be_limited_to_one_dataset(dataset, team_a, researcher):
    from labeling.services.datasets import dataset_create

    other = dataset_create(user=researcher, team_id=team_a.pk, name="Other strips")
    here, there = make_item(dataset, name="here"), make_item(other, name="there")
    for item in (here, there):
        prediction = PredictionFactory(item=item, model_ref="det@1", shapes=predicted_boxes(1))
        make_task(item, shapes=[accepted("a", prediction, "p1")])

    assert prediction_origin_counts(model_refs=["det@1"], dataset_id=dataset.pk)["det@1"].accepted == 1
    assert prediction_origin_counts(model_refs=["det@1"])["det@1"].accepted == 2


def test_origins_saved_through_the_annotation_service_are_counted(dataset, researcher, annotator):
    strip = make_item(dataset, name="one")
    recorded = predictions_record(item=strip, run_ref="run-1", model_ref="det@1", shapes=predicted_boxes(3))
    tasks_create(dataset=dataset, user=researcher)
    task = task_assign(task=strip.tasks.get(), user=researcher, assignee=annotator)
    document = {
        "shapes": [
            accepted("a", recorded.prediction, "p1"),
            edited("b", recorded.prediction, "p2"),
            {**box("c", "panel"), "origin": {"kind": "manual"}},
        ],
        "relations": [],
    }

    saved = annotation_save(task=task, user=annotator, document=document, if_match='"0"')

    assert [s.get("origin", {}).get("kind") for s in saved.annotation.shapes] == [
        "prediction_accepted",
        "prediction_edited",
        None,
    ]
    counts = prediction_origin_counts(model_refs=["det@1"])["det@1"]
    assert counts == OriginCounts(documents=1, predicted=3, accepted=1, edited=1, manual=1)


def test_an_items_predictions_are_listed_newest_first(dataset):
    strip, other = make_item(dataset, name="one"), make_item(dataset, name="two")
    older, newer = PredictionFactory(item=strip), PredictionFactory(item=strip)
    PredictionFactory(item=other)

    assert list(predictions_for_item(item=strip)) == [newer, older]
