"""Agreement between annotators: IoU matching, F1 per class, transcription error rate. Pure."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labeling.quality import agreement_of, iou, matched_pairs
from tests.labeling.annotation.conftest import box


def test_iou_of_known_boxes():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (10, 0, 10, 10)) == 0


def test_matching_is_one_to_one_and_takes_the_best_overlap_first():
    reference = [box("a", 0, 0, 10, 10)]
    candidates = [box("near", 1, 0, 10, 10), box("nearer", 0, 0, 10, 10)]
    assert [(a["id"], b["id"]) for a, b in matched_pairs(reference, candidates)] == [("a", "nearer")]


def test_f1_per_class_and_character_error_rate_over_pairs():
    first = [
        box("p1", 0, 0, 100, 100),
        box("p2", 0, 200, 100, 100),
        box("t1", 0, 400, 50, 20, cls="text", transcription="hello"),
    ]
    second = [box("q1", 2, 2, 100, 100), box("t2", 0, 401, 50, 20, cls="text", transcription="hallo")]
    result = agreement_of({1: [first, second]}).as_dict()
    assert result["pairs"] == 1
    assert result["f1_by_class"] == {"panel": round(2 * 1 / 3, 4), "text": 1.0}
    assert result["character_error_rate"] == 0.2  # one substitution in five characters


def test_items_with_one_document_do_not_count():
    assert agreement_of({1: [[box("a", 0, 0, 5, 5)]]}).as_dict() == {
        "pairs": 0,
        "f1_by_class": {},
        "f1": None,
        "character_error_rate": None,
    }


boxes = st.lists(
    st.tuples(st.integers(0, 700), st.integers(0, 19_000), st.integers(1, 100), st.integers(1, 100)),
    min_size=1,
    max_size=15,
)


@given(boxes)
def test_a_document_agrees_perfectly_with_itself(rects):
    shapes = [box(str(n), *rect, transcription=f"line {n}") for n, rect in enumerate(rects)]
    result = agreement_of({1: [shapes, [dict(s) for s in shapes]]}).as_dict()
    assert result["f1"] == 1.0 and result["character_error_rate"] == 0.0


@given(boxes, boxes)
def test_matches_are_one_to_one_above_the_threshold(first_rects, second_rects):
    first = [box(f"a{n}", *r) for n, r in enumerate(first_rects)]
    second = [box(f"b{n}", *r) for n, r in enumerate(second_rects)]
    pairs = matched_pairs(first, second)
    assert len({a["id"] for a, _ in pairs}) == len({b["id"] for _, b in pairs}) == len(pairs)
    assert all(iou(tuple(a["box"]), tuple(b["box"])) >= 0.5 for a, b in pairs)
    assert 0 <= agreement_of({1: [first, second]}).as_dict()["f1"] <= 1
