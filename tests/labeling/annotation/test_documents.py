"""The annotation document check: what is refused (named), what is clipped, what is kept. Pure."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labeling.documents import (
    DocumentInvalid,
    ItemFrame,
    clip_box,
    clip_polygon,
    document_check,
    document_diff,
    polygon_area,
)
from labeling.schema import SchemaInvalid, default_webtoon_schema, normalized_schema

SCHEMA = normalized_schema(default_webtoon_schema())
STRIP = ItemFrame(width=800, height=20_000)


def check(shapes, relations=(), *, characters=None, saved=None, schema=SCHEMA):
    return document_check(
        {"shapes": list(shapes), "relations": list(relations)},
        schema=schema,
        frame=STRIP,
        character_ids=characters,
        saved_classes=saved or {},
    )


def errors_of(*args, **kwargs) -> list[str]:
    with pytest.raises(DocumentInvalid) as refused:
        check(*args, **kwargs)
    return [m for ms in refused.value.errors.values() for m in ms]


def test_a_box_inside_the_strip_is_kept_as_sent():
    result = check([{"id": "a", "class": "panel", "type": "box", "box": [10, 19_000, 100, 50]}])
    assert result.shapes == [
        {"id": "a", "class": "panel", "type": "box", "box": [10, 19_000, 100, 50], "attributes": {}}
    ]
    assert result.clipped == []


def test_a_box_past_the_edge_is_clipped_and_reported():
    result = check([{"id": "a", "class": "panel", "type": "box", "box": [700, 19_950, 300, 300]}])
    assert result.shapes[0]["box"] == [700, 19_950, 100, 50]
    assert result.clipped == ["a"]


def test_a_shape_wholly_outside_is_refused_with_the_image_size():
    assert errors_of([{"id": "a", "class": "panel", "type": "box", "box": [0, 20_000, 10, 10]}]) == [
        "Shape 'a' lies outside the image (800 × 20000 px)."
    ]


def test_an_unknown_class_and_an_unknown_attribute_are_named():
    assert errors_of([{"id": "a", "class": "dragon", "type": "box", "box": [0, 0, 5, 5]}]) == [
        "Shape 'a': class 'dragon' is not in the label schema."
    ]
    assert errors_of(
        [{"id": "a", "class": "panel", "type": "box", "box": [0, 0, 5, 5], "attributes": {"mood": "x"}}]
    ) == ["Shape 'a': class 'panel' has no attribute 'mood'."]


def test_a_class_removed_from_the_schema_keeps_its_saved_shapes_flagged():
    saved_shape = {"id": "old", "class": "dragon", "type": "box", "box": [0, 0, 5, 5], "attributes": {"x": 1}}
    result = check([saved_shape], saved={"old": "dragon"})
    assert result.shapes == [saved_shape]
    assert result.flags == [{"shape": "old", "reason": "Class 'dragon' is no longer in the label schema."}]
    # ...but a new shape of that class is still refused.
    assert (
        "class 'dragon' is not in the label schema"
        in errors_of([saved_shape, {**saved_shape, "id": "new"}], saved={"old": "dragon"})[0]
    )


def test_a_shape_type_the_class_does_not_allow_is_refused():
    assert errors_of([{"id": "t", "class": "flashback", "type": "box", "box": [0, 0, 5, 5]}]) == [
        "Shape 't': class 'flashback' allows tag, not 'box'."
    ]
    assert check([{"id": "t", "class": "flashback", "type": "tag"}]).shapes[0] == {
        "id": "t",
        "class": "flashback",
        "type": "tag",
        "attributes": {},
    }


def test_character_attributes_come_from_the_registry_when_the_dataset_has_a_series():
    shape = {"id": "c", "class": "character", "type": "box", "box": [0, 0, 5, 5], "attributes": {"name": 7}}
    assert check([shape], characters={7}).shapes[0]["attributes"] == {"name": 7}
    assert errors_of([shape], characters={8}) == [
        "Shape 'c', attribute 'name': choose a character of the series' registry (its id)."
    ]
    free = {**shape, "attributes": {"name": "Kim Dokja"}}
    assert check([free], characters=None).shapes[0]["attributes"] == {"name": "Kim Dokja"}


def test_choices_are_checked_and_empty_values_dropped():
    text = {"id": "t", "class": "text", "type": "box", "box": [0, 0, 5, 5]}
    assert errors_of([{**text, "attributes": {"language": "klingon"}}]) == [
        "Shape 't', attribute 'language': choose one of ko, en, ja, zh, other."
    ]
    assert check([{**text, "attributes": {"language": "ko", "transcription": ""}}]).shapes[0]["attributes"] == {
        "language": "ko"
    }


def test_relations_must_follow_their_type_between_shapes_of_the_document():
    text = {"id": "t", "class": "text", "type": "box", "box": [0, 0, 5, 5]}
    person = {"id": "p", "class": "character", "type": "box", "box": [10, 0, 5, 5]}
    good = {"id": "r", "type": "speaker", "from": "t", "to": "p"}
    assert check([text, person], [good]).relations == [good]
    assert errors_of([text, person], [{**good, "from": "p", "to": "t"}]) == [
        "Relation 'r': 'speaker' goes from a text to a character."
    ]
    assert errors_of([text, person], [{**good, "to": "ghost"}]) == [
        "Relation 'r': from and to must name shapes of this document."
    ]
    assert errors_of([text, person], [{**good, "type": "loves"}]) == [
        "Relation 'r': type 'loves' is not in the label schema."
    ]


def test_duplicate_ids_bad_geometry_and_too_many_shapes_are_refused():
    shape = {"id": "a", "class": "panel", "type": "box", "box": [0, 0, 5, 5]}
    assert errors_of([shape, shape]) == ["Shape id 'a' is used twice."]
    assert "width and height above 0" in errors_of([{**shape, "box": [0, 0, 0, 5]}])[0]
    assert "width and height above 0" in errors_of([{**shape, "box": [0, 0, float("nan"), 5]}])[0]
    assert "3 to 1000" in errors_of([{"id": "p", "class": "sfx", "type": "polygon", "points": [[0, 0], [1, 1]]}])[0]
    many = [{**shape, "id": str(n)} for n in range(5001)]
    assert errors_of(many) == ["A document holds at most 5000 shapes; this one has 5001."]


def test_a_polygon_crossing_the_edge_is_clipped_to_the_image():
    clipped = clip_polygon([[-100, 10], [100, 10], [100, 110], [-100, 110]], STRIP)
    assert sorted(map(tuple, clipped)) == sorted([(0, 10), (100, 10), (100, 110), (0, 110)])


coordinates = st.floats(min_value=-2_000, max_value=22_000, allow_nan=False)


@given(st.lists(st.tuples(coordinates, coordinates), min_size=3, max_size=12))
def test_a_clipped_polygon_lies_inside_the_image_and_never_grows(points):
    points = [list(p) for p in points]
    clipped = clip_polygon(points, STRIP)
    if clipped is None:
        return
    assert all(0 <= x <= STRIP.width and 0 <= y <= STRIP.height for x, y in clipped)
    assert polygon_area(clipped) <= polygon_area(points) * (1 + 1e-6) + 1


@given(coordinates, coordinates, st.floats(0.01, 30_000), st.floats(0.01, 30_000))
def test_clipping_a_box_is_idempotent_and_stays_inside(x, y, w, h):
    clipped = clip_box([x, y, w, h], STRIP)
    if clipped is None:
        return
    cx, cy, cw, ch = clipped
    assert 0 <= cx and 0 <= cy and cx + cw <= STRIP.width + 0.01 and cy + ch <= STRIP.height + 0.01
    assert clip_box(clipped, STRIP) == clipped


def test_the_diff_names_what_was_added_removed_and_changed():
    a = {"id": "a", "box": [0, 0, 1, 1]}
    b = {"id": "b", "box": [0, 0, 1, 1]}
    diff = document_diff({"shapes": [a, b]}, {"shapes": [{**a, "box": [0, 0, 2, 2]}, {"id": "c"}]})
    assert diff["shapes"] == {
        "added": [{"id": "c"}],
        "removed": [b],
        "changed": [{"id": "a", "before": a, "after": {**a, "box": [0, 0, 2, 2]}}],
    }


def test_schemas_fill_old_defaults_and_refuse_what_cannot_work():
    old = {"classes": [{"name": "panel", "shapes": ["box"]}, {"name": "text"}]}
    classes = normalized_schema(old)["classes"]
    assert [(c["hotkey"], c["color"][0]) for c in classes] == [("1", "#"), ("2", "#")]
    with pytest.raises(SchemaInvalid, match="hotkey must be unique"):
        normalized_schema({"classes": [{"name": "a", "hotkey": "1"}, {"name": "b", "hotkey": "1"}]})
    with pytest.raises(SchemaInvalid, match="'to' must name a class"):
        normalized_schema({"classes": [{"name": "a"}], "relations": [{"name": "r", "from": "a", "to": "zz"}]})
