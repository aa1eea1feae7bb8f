"""Records back into item documents: what an import does once each record's image is known. Pure Python.

A record's shapes are in its image's coordinates (pixels, or fractions when `normalized`); they are
moved into the item's pixel space by the image's `offset_y` (a slice of an episode). Parts of one
shape (the same id on two slices) become one again: boxes as their union (exact for a box cut at
slice boundaries), tags once; a polygon cut across slices comes back as its parts, the second and
later renamed `<id>-<n>`.
"""

from dataclasses import dataclass, field

from labeling.formats.base import ImportRecord


@dataclass
class ItemDocument:
    records: list[str] = field(default_factory=list)  # how errors name the records merged into it
    shapes: dict[str, dict] = field(default_factory=dict)
    relations: dict[tuple, dict] = field(default_factory=dict)


def merge_record(document: ItemDocument, record: ImportRecord, *, offset_y: int, width: int, height: int) -> None:
    """Put the record's shapes, read from an image of `width` × `height` at `offset_y`, into `document`."""
    document.records.append(record.record)
    scale_x, scale_y = (width, height) if record.normalized else (1, 1)
    for raw in record.shapes:
        shape = _placed(raw, scale_x, scale_y, offset_y)
        existing = document.shapes.get(shape["id"])
        if existing is None:
            document.shapes[shape["id"]] = shape
        elif existing.get("type") == shape.get("type") == "box":
            existing["box"] = _union(existing["box"], shape["box"])
        elif existing.get("type") == shape.get("type") == "tag":
            continue
        else:  # a polygon cut across images comes back as its parts, each its own shape
            number = 1
            while f"{shape['id']}-{number}" in document.shapes:
                number += 1
            shape["id"] = f"{shape['id']}-{number}"
            document.shapes[shape["id"]] = shape
    for relation in record.relations:
        document.relations.setdefault((relation.get("from"), relation.get("to"), relation.get("type")), relation)


def _placed(raw: dict, scale_x: float, scale_y: float, offset_y: int) -> dict:
    shape = {k: v for k, v in raw.items() if k not in ("group", "box", "points")}
    if raw.get("type") == "box" and isinstance(raw.get("box"), list):
        x, y, w, h = raw["box"]
        shape["box"] = [x * scale_x, y * scale_y + offset_y, w * scale_x, h * scale_y]
    elif raw.get("type") == "polygon" and isinstance(raw.get("points"), list):
        shape["points"] = [[x * scale_x, y * scale_y + offset_y] for x, y in raw["points"]]
    return shape


def _union(a: list, b: list) -> list:
    left, top = min(a[0], b[0]), min(a[1], b[1])
    right, bottom = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return [left, top, right - left, bottom - top]


def shape_coerced(shape: dict, types: dict, character_ids) -> dict:
    """Label Studio's per-region results ({"text": [...]}, {"choices": [...]}) as the schema's values."""
    attributes = shape.get("attributes")
    if not isinstance(attributes, dict):
        return shape
    clean = {}
    for name, value in attributes.items():
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("text", "choices", "number"):
            value = _attribute_value(next(iter(value.values())), types.get(name), character_ids)
        clean[name] = value
    return {**shape, "attributes": clean}


def _attribute_value(raw, kind: str | None, character_ids):
    values = raw if isinstance(raw, list) else [raw]
    if kind == "tags":
        return [str(v) for v in values]
    if kind == "choice":
        return values[0] if values else ""
    if kind == "character" and character_ids is not None:
        text = str(values[0]) if values else ""
        return int(text) if text.isascii() and text.isdigit() else text
    return "\n".join(str(v) for v in values) if values else ""
