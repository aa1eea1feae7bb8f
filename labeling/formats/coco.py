"""COCO: one annotations/instances_<split>.json per split (docs/exports.md has the whole layout).

Standard keys are what pycocotools reads; Atelier's extras are documented and ignored by readers that
do not know them: `atelier` on images (item, slice position, offset_y, tags) and on annotations
(shape id, group id), `attributes` on annotations (as CVAT writes them), and a top-level
`relations` list whose `from`/`to` are the annotation ids of every part of each shape.

Import (`read_coco`): any COCO instances file; boxes and polygons in the image's pixels, Atelier's
extras read back when present (shape ids, groups, tags, relations). RLE masks are refused.
"""

from itertools import count

from labeling.documents import polygon_area
from labeling.formats.archive import ExportArchive
from labeling.formats.base import (
    SPLITS,
    ExportCounts,
    ExportMeta,
    ImportRecord,
    ReadResult,
    Records,
    int_or_none,
    is_number,
    parse_json,
)
from labeling.formats.json_array import ArrayFile, dumps
from labeling.formats.layout import cut, image_units

NOT_COCO = "not a COCO file: it needs `images`, `annotations` and `categories` lists"


class _Split:
    def __init__(self, workdir):
        self.images, self.annotations, self.relations = ArrayFile(workdir), ArrayFile(workdir), ArrayFile(workdir)


def write_coco(
    records: Records, *, meta: ExportMeta, options, archive: ExportArchive, workdir, progress
) -> ExportCounts:
    counts = ExportCounts()
    categories = {name: number for number, name in enumerate(meta.shape_classes, start=1)}
    splits = {name: _Split(workdir) for name in options.splits}
    image_ids, annotation_ids, relation_ids, groups = count(1), count(1), count(1), count(1)
    for record in records:
        split = splits.get(record.split)
        if split is None:
            continue
        units = image_units(item_id=record.item_id, snapshot=record.snapshot, layout=options.layout)
        document = record.snapshot.get("annotation") or {}
        pieces = cut(document.get("shapes", []), units, groups)
        counts.groups += pieces.groups
        counts.dropped += pieces.dropped
        tags = [{"id": t["id"], "class": t["class"], "attributes": t.get("attributes", {})} for t in pieces.tags]
        counts.tags += len(tags)
        relations = document.get("relations")
        parts_of: dict[str, list[int]] = {}  # shape id -> its annotation ids, only needed for relations
        written = []
        for unit, parts in zip(units, pieces.parts):
            image_id = next(image_ids)
            file_name = f"{record.split}/{unit.name}.png"
            split.images.append(
                {
                    "id": image_id,
                    "file_name": file_name,
                    "width": unit.width,
                    "height": unit.height,
                    "atelier": {"item": record.item_id, "position": unit.position, "offset_y": unit.top, "tags": tags},
                }
            )
            if options.include_images:
                archive.write_image(f"images/{file_name}", unit, item_id=record.item_id)
            for part in parts:
                category = categories.get(part["class"])
                if category is None:
                    counts.dropped += 1
                    continue
                annotation_id = next(annotation_ids)
                if relations:
                    parts_of.setdefault(part["id"], []).append(annotation_id)
                written.append(_annotation(part, annotation_id, image_id, category))
        counts.images += len(units)
        split.annotations.extend(written)
        counts.annotations += len(written)
        for relation in relations or ():
            if relation["from"] in parts_of and relation["to"] in parts_of:
                split.relations.append(
                    {
                        "id": next(relation_ids),
                        "relation": relation["id"],
                        "type": relation["type"],
                        "item": record.item_id,
                        "from": parts_of[relation["from"]],
                        "to": parts_of[relation["to"]],
                    }
                )
                counts.relations += 1
        counts.items += 1
        progress(counts.items)
    for name in SPLITS:
        if name in splits:
            _finish(name, splits[name], meta=meta, options=options, categories=categories, archive=archive)
    return counts


def _annotation(part: dict, annotation_id: int, image_id: int, category: int) -> dict:
    if part["type"] == "box":
        box = part["box"]
        bbox, area, segmentation = box, round(box[2] * box[3], 2), []  # the part's list: encoded, never changed
    else:
        points = part["points"]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        bbox = [min(xs), min(ys), round(max(xs) - min(xs), 2), round(max(ys) - min(ys), 2)]
        area, segmentation = round(polygon_area(points), 2), [[v for point in points for v in point]]
    return {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": category,
        "bbox": bbox,
        "area": area,
        "iscrowd": 0,
        "segmentation": segmentation,
        "attributes": part.get("attributes", {}),
        "atelier": {"shape": part["id"], "group": part.get("group")},
    }


def _finish(name: str, split: _Split, *, meta, options, categories, archive) -> None:
    classes = {c["name"]: c for c in meta.classes}
    head = {
        "info": {
            "description": f"{meta.dataset} v{meta.version} ({name})",
            "version": str(meta.version),
            "date_created": meta.created,
            "contributor": "Atelier",
            "url": "",
            "year": int(meta.created[:4]),
        },
        "licenses": [],
        "categories": [
            {
                "id": number,
                "name": class_name,
                "supercategory": "",
                "attributes": [a["name"] for a in classes.get(class_name, {}).get("attributes", [])],
            }
            for class_name, number in categories.items()
        ],
        "atelier": {
            "content_hash": meta.content_hash,
            "split": name,
            "layout": options.layout,
            "coordinates": "image",
            "relation_types": meta.relation_types,
            "tag_classes": [c["name"] for c in meta.classes if c["name"] not in categories],
        },
    }
    with archive.open(f"annotations/instances_{name}.json") as out:
        out.write(dumps(head)[:-1].encode())  # leave the object open
        for key, array in (
            ("images", split.images),
            ("annotations", split.annotations),
            ("relations", split.relations),
        ):
            out.write(f',"{key}":'.encode())
            array.copy_into(out)
        out.write(b"}")


# ---------------------------------------------------------------- import


def read_coco(files: list[tuple[str, bytes]]) -> ReadResult:
    result = ReadResult()
    for name, data in files:
        document = parse_json(data, name, result)
        if document is None:
            continue
        if not isinstance(document, dict) or not all(
            isinstance(document.get(k), list) for k in ("images", "annotations", "categories")
        ):
            result.fail(name, NOT_COCO)
            continue
        _coco_document(name, document, result)
    return result


def _coco_document(name: str, document: dict, result: ReadResult) -> None:
    categories = {c.get("id"): c.get("name") for c in document["categories"] if isinstance(c, dict)}
    images, shape_of = {}, {}
    for image in document["images"]:
        if not isinstance(image, dict) or "id" not in image:
            result.fail(name, "an image without an id")
            continue
        record = ImportRecord(
            record=f"image {image['id']}",
            reference=str(image.get("file_name", "")),
            width=int_or_none(image.get("width")),
            height=int_or_none(image.get("height")),
        )
        extra = image.get("atelier") if isinstance(image.get("atelier"), dict) else {}
        for tag in extra.get("tags", []) if isinstance(extra.get("tags"), list) else []:
            if isinstance(tag, dict):
                record.shapes.append(
                    {
                        "id": str(tag.get("id")),
                        "class": tag.get("class"),
                        "type": "tag",
                        "attributes": tag.get("attributes") or {},
                    }
                )
        images[image["id"]] = record
        result.records.append(record)
    for annotation in document["annotations"]:
        label = f"annotation {annotation.get('id') if isinstance(annotation, dict) else '?'}"
        if not isinstance(annotation, dict):
            result.fail(label, "not an object")
            continue
        record = images.get(annotation.get("image_id"))
        if record is None:
            result.fail(label, f"image_id {annotation.get('image_id')!r} is not in the file's images")
            continue
        category = categories.get(annotation.get("category_id"))
        if category is None:
            result.fail(label, f"category_id {annotation.get('category_id')!r} is not in the file's categories")
            continue
        shapes = _coco_shapes(annotation, category, label, result)
        record.shapes += shapes
        if shapes:
            shape_of[annotation.get("id")] = (record, shapes[0]["id"])
    for relation in document.get("relations") or []:
        _coco_relation(relation, shape_of, result)


def _coco_shapes(annotation: dict, category: str, label: str, result: ReadResult) -> list[dict]:
    extra = annotation.get("atelier") if isinstance(annotation.get("atelier"), dict) else {}
    shape_id = str(extra.get("shape") or f"coco-{annotation.get('id')}")
    common = {"class": category, "attributes": annotation.get("attributes") or {}, "group": extra.get("group")}
    segmentation = annotation.get("segmentation")
    if isinstance(segmentation, dict):
        result.fail(label, "RLE masks are not imported; give polygons or a bbox")
        return []
    rings = [r for r in segmentation or [] if isinstance(r, list) and r]
    if rings:
        shapes = []
        for number, ring in enumerate(rings):
            if len(ring) % 2 or len(ring) < 6 or not all(is_number(v) for v in ring):
                result.fail(label, "a polygon is a flat list of at least 3 x, y pairs")
                return []
            shapes.append(
                {
                    "id": shape_id if number == 0 else f"{shape_id}-{number}",
                    "type": "polygon",
                    "points": [[ring[i], ring[i + 1]] for i in range(0, len(ring), 2)],
                    **common,
                }
            )
        return shapes
    bbox = annotation.get("bbox")
    if not isinstance(bbox, list) or len(bbox) != 4 or not all(is_number(v) for v in bbox):
        result.fail(label, "needs a bbox [x, y, width, height] or a polygon segmentation")
        return []
    return [{"id": shape_id, "type": "box", "box": list(bbox), **common}]


def _coco_relation(relation, shape_of: dict, result: ReadResult) -> None:
    if not isinstance(relation, dict):
        return
    label = f"relation {relation.get('id')}"
    ends = []
    for key in ("from", "to"):
        value = relation.get(key)
        first = value[0] if isinstance(value, list) and value else value
        ends.append(shape_of.get(first))
    if None in ends:
        result.fail(label, "from and to must name annotations of this file")
        return
    (record, source), (_, target) = ends
    record.relations.append(
        {
            "id": str(relation.get("relation") or f"coco-rel-{relation.get('id')}"),
            "type": relation.get("type"),
            "from": source,
            "to": target,
        }
    )
