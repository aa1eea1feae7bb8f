"""Agreement between annotators of the same item. Pure Python.

Shapes of one class from two documents are matched one to one, greedily by IoU from the highest
down, keeping pairs with IoU >= 0.5: the rule COCO's evaluation uses. Polygons are compared by
their bounding boxes. F1 per class is 2·matched / (shapes in A + shapes in B), summed over every
pair of documents of every overlapped item. Transcriptions of matched shapes give a character
error rate: edit distance over the length of the first document's text.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations

from rapidfuzz.distance import Levenshtein

from labeling.documents import shape_bounds

IOU_THRESHOLD = 0.5
TEXT_ATTRIBUTE = "transcription"


def iou(a: tuple, b: tuple) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    width = min(ax + aw, bx + bw) - max(ax, bx)
    height = min(ay + ah, by + bh) - max(ay, by)
    if width <= 0 or height <= 0:
        return 0.0
    overlap = width * height
    return overlap / (aw * ah + bw * bh - overlap)


def matched_pairs(first: list[dict], second: list[dict], threshold: float = IOU_THRESHOLD) -> list[tuple[dict, dict]]:
    """One-to-one greedy matching by IoU (highest first) of two lists of shapes of one class."""
    candidates = []
    for i, a in enumerate(first):
        for j, b in enumerate(second):
            overlap = iou(shape_bounds(a), shape_bounds(b))
            if overlap >= threshold:
                candidates.append((overlap, i, j))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    used_first, used_second, pairs = set(), set(), []
    for _, i, j in candidates:
        if i not in used_first and j not in used_second:
            used_first.add(i)
            used_second.add(j)
            pairs.append((first[i], second[j]))
    return pairs


@dataclass
class Agreement:
    """Counts summed over document pairs; the rates are computed from them."""

    matched: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    shapes: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # in A plus in B
    text_errors: int = 0
    text_length: int = 0
    pairs: int = 0

    def add_pair(self, first: list[dict], second: list[dict]) -> None:
        self.pairs += 1
        for class_name in {s["class"] for s in first + second if shape_bounds(s) is not None}:
            mine = [s for s in first if s["class"] == class_name and shape_bounds(s) is not None]
            theirs = [s for s in second if s["class"] == class_name and shape_bounds(s) is not None]
            pairs = matched_pairs(mine, theirs)
            self.matched[class_name] += len(pairs)
            self.shapes[class_name] += len(mine) + len(theirs)
            for a, b in pairs:
                self._add_text(a.get("attributes", {}).get(TEXT_ATTRIBUTE), b.get("attributes", {}).get(TEXT_ATTRIBUTE))

    def _add_text(self, reference, hypothesis) -> None:
        if isinstance(reference, str) and isinstance(hypothesis, str) and (reference or hypothesis):
            self.text_errors += Levenshtein.distance(reference, hypothesis)
            self.text_length += max(len(reference), 1)

    def f1_by_class(self) -> dict[str, float]:
        return {name: round(2 * self.matched[name] / total, 4) for name, total in sorted(self.shapes.items()) if total}

    def character_error_rate(self) -> float | None:
        return round(self.text_errors / self.text_length, 4) if self.text_length else None

    def as_dict(self) -> dict:
        matched, total = sum(self.matched.values()), sum(self.shapes.values())
        return {
            "pairs": self.pairs,
            "f1_by_class": self.f1_by_class(),
            "f1": round(2 * matched / total, 4) if total else None,
            "character_error_rate": self.character_error_rate(),
        }


def agreement_of(documents_by_item: dict[int, list[list[dict]]]) -> Agreement:
    """Agreement over every pair of documents of each item that has two or more."""
    agreement = Agreement()
    for documents in documents_by_item.values():
        for first, second in combinations(documents, 2):
            agreement.add_pair(first, second)
    return agreement
