"""COCO: one annotations/instances_<split>.json per split (docs/exports.md has the whole layout).

Standard keys are what pycocotools reads; Atelier's extras are documented and ignored by readers that
do not know them: `atelier` on images (item, slice position, offset_y, tags) and on annotations
(shape id, group id), `attributes` on annotations (as CVAT writes them), and a top-level
`relations` list whose `from`/`to` are the annotation ids of every part of each shape.
"""

from itertools import count

from labeling.documents import polygon_area
from labeling.formats.archive import ExportArchive
from labeling.formats.base import SPLITS, ExportCounts, ExportMeta, Records
from labeling.formats.json_array import ArrayFile, dumps
from labeling.formats.layout import cut, image_units


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
