"""A shape's origin (manual, prediction accepted, prediction edited): checked, and optional. Pure."""

import pytest

from labeling.documents import (
    DocumentInvalid,
    ItemFrame,
    document_check,
    origin_kind,
    prediction_id_of,
    prediction_shape_ref,
)
from labeling.schema import default_webtoon_schema, normalized_schema

SCHEMA = normalized_schema(default_webtoon_schema())


def check(*shapes):
    return document_check(
        {"shapes": list(shapes), "relations": []},
        schema=SCHEMA,
        frame=ItemFrame(width=800, height=2000),
        character_ids=None,
        saved_classes={},
    )


def panel(shape_id="a", **extra):
    return {"id": shape_id, "class": "panel", "type": "box", "box": [0, 0, 10, 10], "attributes": {}, **extra}


def refusal(*shapes) -> list[str]:
    with pytest.raises(DocumentInvalid) as refused:
        check(*shapes)
    return refused.value.errors["shapes"]


def test_a_shape_without_origin_is_stored_exactly_as_before():
    assert check(panel()).shapes == [panel()]


def test_a_manual_origin_is_stored_as_no_origin():
    assert check(panel(origin={"kind": "manual"})).shapes == [panel()]
    assert check(panel(origin=None)).shapes == [panel()]


@pytest.mark.parametrize("kind", ["prediction_accepted", "prediction_edited"])
def test_a_predicted_origin_is_kept_with_its_reference(kind):
    origin = {"kind": kind, "prediction": prediction_shape_ref(42, "p3")}
    shape = check(panel(origin=origin)).shapes[0]
    assert shape["origin"] == {"kind": kind, "prediction": "42:p3"}
    assert origin_kind(shape) == kind
    assert prediction_id_of(shape["origin"]["prediction"]) == 42


def test_an_unknown_origin_kind_is_refused_with_its_name():
    assert refusal(panel(origin={"kind": "guessed"})) == [
        "Shape 'a': origin kind 'guessed' is not one of manual, prediction_accepted, prediction_edited."
    ]


def test_a_predicted_origin_without_a_reference_is_refused():
    assert refusal(panel(origin={"kind": "prediction_edited", "prediction": "p3"})) == [
        "Shape 'a': origin 'prediction_edited' names its predicted shape as \"<prediction id>:<shape id>\", not 'p3'."
    ]
    assert refusal(panel(origin={"kind": "prediction_accepted"}))[0].startswith("Shape 'a': origin 'prediction_acc")


def test_malformed_origins_are_refused_and_named():
    assert refusal(panel(origin="accepted")) == ["Shape 'a': origin must be an object with a kind."]
    assert refusal(panel(origin={"kind": "manual", "prediction": "1:p1"})) == [
        "Shape 'a': a manual shape names no prediction."
    ]
    assert refusal(panel(origin={"kind": "prediction_accepted", "prediction": "1:p1", "score": 0.9})) == [
        "Shape 'a': origin has no field 'score'."
    ]


def test_a_shape_saved_without_origin_reads_as_manual():
    assert origin_kind(panel()) == "manual"
    assert prediction_id_of("not a ref") is None
