"""Recording a run's predictions for an item: checked against the schema shape by shape, dropped
classes counted, bad shapes refused in the checker's words, and once per (run, item) (both databases)."""

import pytest
from django.core.exceptions import ValidationError

from labeling.models import Prediction
from labeling.services.predictions import predictions_record
from tests.labeling.annotation.conftest import make_item
from tests.scheduler.race import race

pytestmark = pytest.mark.django_db


def predicted(shape_id, cls="panel", score=0.9, box=(10, 10, 100, 50), **extra):
    return {"id": shape_id, "class": cls, "type": "box", "box": list(box), "score": score, **extra}


@pytest.fixture
def strip(dataset):
    return make_item(dataset, heights=(2000,))


def record(strip, shapes, *, run_ref="run-1", model_ref="detector@3", classes=None):
    return predictions_record(item=strip, run_ref=run_ref, model_ref=model_ref, shapes=shapes, classes=classes)


def test_it_keeps_valid_shapes_with_their_scores(strip):
    recorded = record(strip, [predicted("a", score=0.87654), predicted("b", cls="speech_bubble", score=1)])

    row = Prediction.objects.get()
    assert recorded.created and recorded.prediction == row
    assert (row.item, row.run_ref, row.model_ref, row.shape_count) == (strip, "run-1", "detector@3", 2)
    assert row.shapes == [
        {"id": "a", "class": "panel", "type": "box", "box": [10, 10, 100, 50], "attributes": {}, "score": 0.8765},
        {"id": "b", "class": "speech_bubble", "type": "box", "box": [10, 10, 100, 50], "attributes": {}, "score": 1.0},
    ]
    assert row.summary == {"kept": 2, "dropped": {}, "refused": []}


def test_classes_outside_the_schema_are_dropped_and_counted_per_class(strip):
    recorded = record(strip, [predicted("a"), predicted("b", cls="dragon"), predicted("c", cls="dragon")])

    assert [s["id"] for s in recorded.prediction.shapes] == ["a"]
    assert recorded.dropped == {"dragon": 2}
    assert recorded.refused == []


def test_classes_outside_the_runs_classes_are_dropped_too(strip):
    recorded = record(strip, [predicted("a"), predicted("b", cls="speech_bubble")], classes=["speech_bubble"])

    assert [s["class"] for s in recorded.prediction.shapes] == ["speech_bubble"]
    assert recorded.dropped == {"panel": 1}


def test_bad_geometry_and_scores_refuse_that_shape_alone_in_the_checkers_words(strip):
    recorded = record(
        strip,
        [
            predicted("a"),
            predicted("flat", box=(10, 10, 0, 50)),
            predicted("below", box=(0, 5000, 10, 10)),
            predicted("unsure", score=1.5),
            {"class": "panel", "type": "polygon", "points": [[0, 0], [5, 5]], "score": 0.5},
        ],
    )

    assert [s["id"] for s in recorded.prediction.shapes] == ["a"]
    assert recorded.refused == [
        "Shape 'flat': a box is [x, y, width, height] with width and height above 0.",
        "Shape 'below' lies outside the image (800 × 2000 px).",
        "Shape 'unsure': score must be a number from 0 to 1, not 1.5.",
        "Shape 'p5': a polygon is a list of 3 to 1000 [x, y] points.",
    ]
    assert recorded.prediction.summary["kept"] == 1


def test_shapes_past_the_edge_are_clipped_and_a_shape_without_id_gets_its_position(strip):
    recorded = record(strip, [{"class": "panel", "type": "box", "box": [700, 1990, 300, 300], "score": 0.5}])

    assert recorded.prediction.shapes[0]["id"] == "p1"
    assert recorded.prediction.shapes[0]["box"] == [700, 1990, 100, 10]
    assert recorded.prediction.summary["clipped"] == ["p1"]


def test_a_shape_sent_with_an_origin_is_stored_without_it(strip):
    recorded = record(strip, [predicted("a", origin={"kind": "manual"})])

    assert "origin" not in recorded.prediction.shapes[0]


def test_a_list_it_cannot_read_writes_nothing(strip):
    with pytest.raises(ValidationError) as refused:
        record(strip, {"shapes": []})
    assert refused.value.message_dict == {"shapes": ["Predicted shapes must be a list."]}
    with pytest.raises(ValidationError) as refused:
        record(strip, [], run_ref="")
    assert refused.value.message_dict == {"run_ref": ["run_ref must be 1 to 200 characters."]}
    assert not Prediction.objects.exists()


def test_the_same_run_and_item_twice_returns_the_first_row_unchanged(strip):
    first = record(strip, [predicted("a"), predicted("b", cls="dragon")])
    again = record(strip, [predicted("x"), predicted("y"), predicted("z")], model_ref="detector@4")

    assert not again.created
    assert again.prediction.pk == first.prediction.pk
    row = Prediction.objects.get()
    assert [s["id"] for s in row.shapes] == ["a"] and row.model_ref == "detector@3"
    assert again.dropped == {"dragon": 1}  # the summary the run counted the first time


def test_another_run_on_the_same_item_is_its_own_row(strip):
    record(strip, [predicted("a")], run_ref="run-1")
    record(strip, [predicted("a")], run_ref="run-2")

    assert sorted(Prediction.objects.values_list("run_ref", flat=True)) == ["run-1", "run-2"]


def test_a_requeued_ingest_losing_the_race_after_its_read_gets_the_existing_row(strip, monkeypatch):
    """The other delivery inserts between this one's read and its insert: the unique constraint
    answers, and the caller's transaction stays usable."""
    other = Prediction.objects.create(item=strip, run_ref="run-1", model_ref="detector@3", shapes=[], shape_count=0)
    real_filter = Prediction.objects.filter

    def filter_missing_the_row(*args, **kwargs):
        return real_filter(*args, **kwargs).none()

    monkeypatch.setattr(Prediction.objects, "filter", filter_missing_the_row)
    recorded = record(strip, [predicted("a")])
    monkeypatch.undo()

    assert not recorded.created and recorded.prediction.pk == other.pk
    assert Prediction.objects.count() == 1  # and the transaction can still be read from


@pytest.mark.django_db(transaction=True)
def test_ten_deliveries_of_the_same_item_at_once_record_one_prediction(strip):
    outcomes = race(
        lambda i: "created" if record(strip, [predicted("a")]).created else "found", attempts=10, threads=10
    )

    assert outcomes == {"created": 1, "found": 9}, outcomes
    assert Prediction.objects.filter(run_ref="run-1", item=strip).count() == 1
