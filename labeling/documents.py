"""Checking an annotation document against its label schema and its item. Pure Python.

A document: {"shapes": [...], "relations": [...]}, in the item's (episode's) pixel coordinates.
    box:     {"id", "class", "type": "box", "box": [x, y, w, h], "attributes": {...}}
    polygon: {"id", "class", "type": "polygon", "points": [[x, y], ...], "attributes": {...}}
    tag:     {"id", "class", "type": "tag", "attributes": {...}}      (image-level)
    relation: {"id", "type": <relation name>, "from": <shape id>, "to": <shape id>}

Shapes reaching past the image are clipped to it (and reported); a shape with nothing inside is
refused. A class or attribute the schema lacks is refused with its name, except that shapes
already saved under a class since removed from the schema are kept and flagged, so changing the
schema never drops saved work.

Origin: a shape may say where it came from, so acceptance can be measured per model version:
    "origin": {"kind": "manual"}                                      (the same as no origin)
    "origin": {"kind": "prediction_accepted" | "prediction_edited", "prediction": "<ref>"}
<ref> is `prediction_shape_ref(prediction id, predicted shape id)`: "<prediction id>:<shape id>".
An unknown kind is refused with its name. A manual origin is stored as no origin, so documents
saved before origins existed read exactly as they did.

Predicted shapes (labeling/services/predictions.py) go through `predicted_shapes_check`: the same
rules shape by shape, plus a score from 0 to 1; a class outside the schema (or outside the run's
classes) is dropped and counted, any other problem refuses that shape alone, in the checker's words.
"""

import math
import re
from collections import Counter
from dataclasses import dataclass, field

MAX_SHAPES = 5000
MAX_POLYGON_POINTS = 1000
MAX_TEXT = 10_000
MAX_TAGS = 50
MAX_ID = 64
_MESSAGES_SHOWN = 20

ORIGIN_MANUAL = "manual"
ORIGIN_ACCEPTED = "prediction_accepted"
ORIGIN_EDITED = "prediction_edited"
ORIGIN_KINDS = (ORIGIN_MANUAL, ORIGIN_ACCEPTED, ORIGIN_EDITED)
_REF = re.compile(r"^([1-9][0-9]{0,18}):(.{1,64})$", re.DOTALL)


class DocumentInvalid(ValueError):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


@dataclass
class CheckedDocument:
    shapes: list[dict]
    relations: list[dict]
    clipped: list[str] = field(default_factory=list)  # ids of shapes cut back to the image
    flags: list[dict] = field(default_factory=list)  # shapes kept though the schema no longer has their class


@dataclass(frozen=True)
class ItemFrame:
    width: int
    height: int


def document_check(
    payload, *, schema: dict, frame: ItemFrame, character_ids: set[int] | None, saved_classes: dict[str, str]
) -> CheckedDocument:
    """Return the clean document or raise DocumentInvalid naming each problem.

    `character_ids`: the series' registry (None when the dataset has no series: names are free text).
    `saved_classes`: shape id -> class in the currently saved document.
    """
    if not isinstance(payload, dict):
        raise DocumentInvalid({"non_field_errors": ["Send a JSON object with shapes and relations."]})
    raw_shapes, raw_relations = payload.get("shapes", []), payload.get("relations", [])
    if not isinstance(raw_shapes, list) or not isinstance(raw_relations, list):
        raise DocumentInvalid({"shapes": ["shapes and relations must be lists."]})
    if len(raw_shapes) > MAX_SHAPES:
        raise DocumentInvalid(
            {"shapes": [f"A document holds at most {MAX_SHAPES} shapes; this one has {len(raw_shapes)}."]}
        )
    checker = _Checker(schema, frame, character_ids, saved_classes)
    shapes = [s for s in (checker.shape(raw, n) for n, raw in enumerate(raw_shapes)) if s is not None]
    relations = [r for r in (checker.relation(raw, n, shapes) for n, raw in enumerate(raw_relations)) if r]
    if checker.errors:
        raise DocumentInvalid(checker.errors)
    return CheckedDocument(shapes=shapes, relations=relations, clipped=checker.clipped, flags=checker.flags)


class _Checker:
    def __init__(self, schema, frame, character_ids, saved_classes):
        self.classes = {c["name"]: c for c in schema["classes"]}
        self.relation_types = {r["name"]: r for r in schema["relations"]}
        self.frame, self.character_ids, self.saved_classes = frame, character_ids, saved_classes
        self.errors: dict[str, list[str]] = {}
        self.clipped: list[str] = []
        self.flags: list[dict] = []
        self.seen_ids: set[str] = set()

    def fail(self, key: str, message: str) -> None:
        messages = self.errors.setdefault(key, [])
        if len(messages) < _MESSAGES_SHOWN:
            messages.append(message)

    def shape(self, raw, number: int) -> dict | None:
        if not isinstance(raw, dict):
            self.fail("shapes", f"Shape {number + 1} is not an object.")
            return None
        shape_id = raw.get("id")
        if not isinstance(shape_id, str) or not 0 < len(shape_id) <= MAX_ID:
            self.fail("shapes", f"Shape {number + 1} needs an id of 1 to {MAX_ID} characters.")
            return None
        if shape_id in self.seen_ids:
            self.fail("shapes", f"Shape id {shape_id!r} is used twice.")
            return None
        self.seen_ids.add(shape_id)
        class_name, kind = raw.get("class"), raw.get("type")
        label = self.classes.get(class_name)
        if label is None:
            if not isinstance(class_name, str) or self.saved_classes.get(shape_id) != class_name:
                self.fail("shapes", f"Shape {shape_id!r}: class {class_name!r} is not in the label schema.")
                return None
            self.flags.append({"shape": shape_id, "reason": f"Class {class_name!r} is no longer in the label schema."})
        elif kind not in label["shapes"]:
            self.fail(
                "shapes", f"Shape {shape_id!r}: class {class_name!r} allows {', '.join(label['shapes'])}, not {kind!r}."
            )
            return None
        geometry = self.geometry(raw, shape_id, kind)
        if geometry is None:
            return None
        attributes = self.attributes(raw.get("attributes", {}), shape_id, label)
        if attributes is None:
            return None
        shape = {"id": shape_id, "class": class_name, "type": kind, **geometry, "attributes": attributes}
        if "origin" not in raw:
            return shape
        origin = self.origin(raw["origin"], shape_id)
        if origin is False:
            return None
        return {**shape, "origin": origin} if origin else shape

    def origin(self, raw, shape_id: str) -> dict | None | bool:
        """The clean origin, None for manual (stored as no origin), False when refused."""
        if raw is None:
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("kind"), str):
            self.fail("shapes", f"Shape {shape_id!r}: origin must be an object with a kind.")
            return False
        kind = raw["kind"]
        if kind not in ORIGIN_KINDS:
            self.fail("shapes", f"Shape {shape_id!r}: origin kind {kind!r} is not one of {', '.join(ORIGIN_KINDS)}.")
            return False
        extra = sorted(set(raw) - {"kind", "prediction"})
        if extra:
            self.fail("shapes", f"Shape {shape_id!r}: origin has no field {extra[0]!r}.")
            return False
        reference = raw.get("prediction")
        if kind == ORIGIN_MANUAL:
            if reference is not None:
                self.fail("shapes", f"Shape {shape_id!r}: a manual shape names no prediction.")
                return False
            return None
        if not isinstance(reference, str) or not _REF.match(reference):
            self.fail(
                "shapes",
                f"Shape {shape_id!r}: origin {kind!r} names its predicted shape as "
                f'"<prediction id>:<shape id>", not {reference!r}.',
            )
            return False
        return {"kind": kind, "prediction": reference}

    def geometry(self, raw, shape_id: str, kind) -> dict | None:
        if kind == "tag":
            return {}
        if kind == "box":
            box = raw.get("box")
            if not _numbers(box, 4) or box[2] <= 0 or box[3] <= 0:
                self.fail(
                    "shapes", f"Shape {shape_id!r}: a box is [x, y, width, height] with width and height above 0."
                )
                return None
            clipped = clip_box(box, self.frame)
            if clipped is None:
                return self.outside(shape_id)
            if clipped != [round(v, 2) for v in box]:
                self.clipped.append(shape_id)
            return {"box": clipped}
        if kind == "polygon":
            points = raw.get("points")
            if (
                not isinstance(points, list)
                or not 3 <= len(points) <= MAX_POLYGON_POINTS
                or not all(_numbers(p, 2) for p in points)
            ):
                self.fail(
                    "shapes", f"Shape {shape_id!r}: a polygon is a list of 3 to {MAX_POLYGON_POINTS} [x, y] points."
                )
                return None
            clipped = clip_polygon(points, self.frame)
            if clipped is None:
                return self.outside(shape_id)
            if clipped != [[round(x, 2), round(y, 2)] for x, y in points]:
                self.clipped.append(shape_id)
            return {"points": clipped}
        self.fail("shapes", f"Shape {shape_id!r}: type must be box, polygon or tag, not {kind!r}.")
        return None

    def outside(self, shape_id: str) -> None:
        self.fail("shapes", f"Shape {shape_id!r} lies outside the image ({self.frame.width} × {self.frame.height} px).")
        return None

    def attributes(self, raw, shape_id: str, label: dict | None) -> dict | None:
        if not isinstance(raw, dict):
            self.fail("shapes", f"Shape {shape_id!r}: attributes must be an object.")
            return None
        if label is None:  # a removed class: keep what was there, unchecked, so nothing is lost
            return raw
        known = {a["name"]: a for a in label["attributes"]}
        clean = {}
        for name, value in raw.items():
            attribute = known.get(name)
            if attribute is None:
                self.fail("shapes", f"Shape {shape_id!r}: class {label['name']!r} has no attribute {name!r}.")
                return None
            if value in (None, "", []):
                continue
            problem = self.attribute_problem(attribute, value)
            if problem:
                self.fail("shapes", f"Shape {shape_id!r}, attribute {name!r}: {problem}")
                return None
            clean[name] = value
        return clean

    def attribute_problem(self, attribute: dict, value) -> str | None:
        kind = attribute["type"]
        if kind == "text":
            return (
                None if isinstance(value, str) and len(value) <= MAX_TEXT else f"text of at most {MAX_TEXT} characters."
            )
        if kind == "choice":
            return None if value in attribute["choices"] else f"choose one of {', '.join(attribute['choices'])}."
        if kind == "tags":
            ok = (
                isinstance(value, list)
                and len(value) <= MAX_TAGS
                and all(isinstance(t, str) and 0 < len(t) <= 64 for t in value)
            )
            return None if ok else f"a list of at most {MAX_TAGS} tags of 1 to 64 characters."
        if self.character_ids is None:  # no series: a free name
            return (
                None if isinstance(value, str) and len(value) <= 200 else "a character name of at most 200 characters."
            )
        if isinstance(value, bool) or not isinstance(value, int) or value not in self.character_ids:
            return "choose a character of the series' registry (its id)."
        return None

    def relation(self, raw, number: int, shapes: list[dict]) -> dict | None:
        by_id = {s["id"]: s for s in shapes}
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not 0 < len(raw["id"]) <= MAX_ID:
            self.fail("relations", f"Relation {number + 1} needs an id of 1 to {MAX_ID} characters.")
            return None
        relation_id, kind = raw["id"], raw.get("type")
        if relation_id in self.seen_ids:
            self.fail("relations", f"Id {relation_id!r} is used twice.")
            return None
        self.seen_ids.add(relation_id)
        rule = self.relation_types.get(kind)
        if rule is None:
            self.fail("relations", f"Relation {relation_id!r}: type {kind!r} is not in the label schema.")
            return None
        source, target = by_id.get(raw.get("from")), by_id.get(raw.get("to"))
        if source is None or target is None:
            self.fail("relations", f"Relation {relation_id!r}: from and to must name shapes of this document.")
            return None
        if source["class"] != rule["from"] or target["class"] != rule["to"]:
            self.fail("relations", f"Relation {relation_id!r}: {kind!r} goes from a {rule['from']} to a {rule['to']}.")
            return None
        return {"id": relation_id, "type": kind, "from": source["id"], "to": target["id"]}


def prediction_shape_ref(prediction_id: int, shape_id: str) -> str:
    """What an accepted or edited shape's origin names: one shape of one prediction."""
    return f"{prediction_id}:{shape_id}"


def prediction_id_of(reference: str) -> int | None:
    """The prediction an origin reference names; None when it is not a reference."""
    match = _REF.match(reference) if isinstance(reference, str) else None
    return int(match.group(1)) if match else None


def origin_kind(shape: dict) -> str:
    """A saved shape's origin kind: manual when it has none."""
    origin = shape.get("origin")
    return origin.get("kind", ORIGIN_MANUAL) if isinstance(origin, dict) else ORIGIN_MANUAL


@dataclass
class CheckedPredictions:
    shapes: list[dict]
    dropped: dict[str, int] = field(default_factory=dict)  # class -> shapes dropped (outside the schema or classes)
    refused: list[str] = field(default_factory=list)  # one message per refused shape, the checker's words
    clipped: list[str] = field(default_factory=list)


def predicted_shapes_check(
    raw_shapes, *, schema: dict, frame: ItemFrame, character_ids: set[int] | None, classes: set[str] | None = None
) -> CheckedPredictions:
    """Check a model's shapes for one item one by one: each is kept (clipped to the image), dropped
    (its class is outside the schema or `classes`: counted by class) or refused (named, with why).

    A shape without an id gets "p<n>" (its position); every kept shape carries its score.
    Raises DocumentInvalid only when the list itself cannot be read."""
    if not isinstance(raw_shapes, list):
        raise DocumentInvalid({"shapes": ["Predicted shapes must be a list."]})
    if len(raw_shapes) > MAX_SHAPES:
        raise DocumentInvalid(
            {"shapes": [f"A prediction holds at most {MAX_SHAPES} shapes; this one has {len(raw_shapes)}."]}
        )
    checker = _Checker(schema, frame, character_ids, saved_classes={})
    result = CheckedPredictions(shapes=[])
    dropped: Counter = Counter()
    for number, raw in enumerate(raw_shapes):
        if isinstance(raw, dict) and "id" not in raw:
            raw = {**raw, "id": f"p{number + 1}"}
        class_name = raw.get("class") if isinstance(raw, dict) else None
        if isinstance(class_name, str) and (
            class_name not in checker.classes or (classes is not None and class_name not in classes)
        ):
            dropped[class_name] += 1
            continue
        shape = _predicted_shape(checker, raw, number)
        if shape is None:
            result.refused.append(" ".join(m for ms in checker.errors.values() for m in ms))
        else:
            result.shapes.append(shape)
    result.dropped, result.clipped = dict(dropped), checker.clipped
    return result


def _predicted_shape(checker: "_Checker", raw, number: int) -> dict | None:
    checker.errors = {}
    if not isinstance(raw, dict):
        checker.fail("shapes", f"Shape {number + 1} is not an object.")
        return None
    score = raw.get("score")
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
        checker.fail("shapes", f"Shape {raw.get('id')!r}: score must be a number from 0 to 1, not {score!r}.")
        return None
    # A prediction has no origin of its own: only the shapes people keep from it do.
    shape = checker.shape({k: v for k, v in raw.items() if k not in ("score", "origin")}, number)
    return None if shape is None else {**shape, "score": round(float(score), 4)}


def removed_class_flags(shapes: list[dict], schema: dict) -> list[dict]:
    """Shapes whose class the schema no longer has: kept, and shown to the annotator as flagged."""
    known = {c["name"] for c in schema["classes"]}
    return [
        {"shape": s["id"], "reason": f"Class {s.get('class')!r} is no longer in the label schema."}
        for s in shapes
        if s.get("class") not in known
    ]


def _numbers(values, count: int) -> bool:
    return (
        isinstance(values, list)
        and len(values) == count
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
    )


def clip_box(box: list[float], frame: ItemFrame) -> list[float] | None:
    x, y, w, h = box
    left, top = max(0.0, x), max(0.0, y)
    right, bottom = min(float(frame.width), x + w), min(float(frame.height), y + h)
    if right - left <= 0 or bottom - top <= 0:
        return None
    return [round(left, 2), round(top, 2), round(right - left, 2), round(bottom - top, 2)]


def clip_polygon(points: list[list[float]], frame: ItemFrame) -> list[list[float]] | None:
    """Sutherland-Hodgman against the image rectangle; None when nothing with an area is left."""
    edges = (
        (lambda p: p[0] >= 0, lambda a, b: _cross_x(a, b, 0.0)),
        (lambda p: p[0] <= frame.width, lambda a, b: _cross_x(a, b, float(frame.width))),
        (lambda p: p[1] >= 0, lambda a, b: _cross_y(a, b, 0.0)),
        (lambda p: p[1] <= frame.height, lambda a, b: _cross_y(a, b, float(frame.height))),
    )
    polygon = [(float(x), float(y)) for x, y in points]
    for inside, crossing in edges:
        if not polygon:
            return None
        result, previous = [], polygon[-1]
        for current in polygon:
            if inside(current):
                if not inside(previous):
                    result.append(crossing(previous, current))
                result.append(current)
            elif inside(previous):
                result.append(crossing(previous, current))
            previous = current
        polygon = result
    rounded = [[round(x, 2), round(y, 2)] for x, y in polygon]
    if len(rounded) < 3 or polygon_area(rounded) <= 0:
        return None
    return rounded


def _cross_x(a, b, x: float) -> tuple[float, float]:
    t = (x - a[0]) / (b[0] - a[0])
    return (x, a[1] + t * (b[1] - a[1]))


def _cross_y(a, b, y: float) -> tuple[float, float]:
    t = (y - a[1]) / (b[1] - a[1])
    return (a[0] + t * (b[0] - a[0]), y)


def polygon_area(points: list[list[float]]) -> float:
    total = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1]):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2


def shape_bounds(shape: dict) -> tuple[float, float, float, float] | None:
    """(x, y, w, h) of a box or polygon; None for a tag."""
    if shape["type"] == "box":
        return tuple(shape["box"])
    if shape["type"] == "polygon":
        xs, ys = [p[0] for p in shape["points"]], [p[1] for p in shape["points"]]
        return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
    return None


def shape_names(shapes: list[dict]) -> dict[str, str]:
    """What people call each shape, by id: its class in words and its number among the shapes of that
    class in document order ("speech bubble 3"). Pages show these, never raw ids."""
    seen: Counter = Counter()
    names = {}
    for shape in shapes:
        kind = str(shape.get("class") or shape.get("type") or "shape").replace("_", " ")
        seen[kind] += 1
        names[shape.get("id")] = f"{kind} {seen[kind]}"
    return names


def document_diff(before: dict, after: dict) -> dict:
    """What changed between two documents: shapes and relations added, removed and changed, by id."""
    result = {}
    for key in ("shapes", "relations"):
        old = {s["id"]: s for s in before.get(key, [])}
        new = {s["id"]: s for s in after.get(key, [])}
        result[key] = {
            "added": [new[i] for i in new if i not in old],
            "removed": [old[i] for i in old if i not in new],
            "changed": [{"id": i, "before": old[i], "after": new[i]} for i in new if i in old and old[i] != new[i]],
        }
    return result


def diff_summary(diff: dict) -> dict:
    return {
        f"{key}_{change}": len(diff[key][change])
        for key in ("shapes", "relations")
        for change in ("added", "removed", "changed")
    }
