"""Label Studio JSON: tasks.json (a list of tasks with annotations) and label_config.xml.

Import both into a Label Studio project: paste label_config.xml as the labeling interface, then
import tasks.json. Each image is a task; regions are `rectanglelabels` (from_name "box") or
`polygonlabels` ("polygon") in percent of the image, attributes are per-region results that share
the region's id (from_name "attr_<name>"), image-level tags are `choices` ("tags"), relations are
`relation` results. Atelier's extras sit in the task's `data` (free-form in Label Studio): the item,
split, slice position and offset, the group id of each shape cut across images, and the item's
relations with their ids (a relation between two images of an episode has no Label Studio form).

Import (`read_label_studio`): a tasks file as Label Studio exports it (or as written here, which
re-imports unchanged); the first non-cancelled annotation of each task, in percent of the image.
"""

from itertools import count
from xml.sax.saxutils import quoteattr

from labeling.formats.archive import ExportArchive
from labeling.formats.base import (
    ExportCounts,
    ExportMeta,
    ImportRecord,
    ReadResult,
    Records,
    int_or_none,
    is_number,
    parse_json,
)
from labeling.formats.json_array import ArrayFile
from labeling.formats.layout import cut, image_units

BOX, POLYGON, TAGS, IMAGE = "box", "polygon", "tags", "image"

NOT_LABEL_STUDIO = "not a Label Studio export: it needs a list of tasks, each with `data`"


def write_label_studio(
    records: Records, *, meta: ExportMeta, options, archive: ExportArchive, workdir, progress
) -> ExportCounts:
    counts = ExportCounts()
    attribute_types = {c["name"]: {a["name"]: a["type"] for a in c.get("attributes", [])} for c in meta.classes}
    tasks = ArrayFile(workdir)
    groups = count(1)
    for record in records:
        if record.split not in options.splits:
            continue
        units = image_units(item_id=record.item_id, snapshot=record.snapshot, layout=options.layout)
        document = record.snapshot.get("annotation")
        pieces = cut((document or {}).get("shapes", []), units, groups)
        counts.groups += pieces.groups
        counts.dropped += pieces.dropped
        relations = (document or {}).get("relations", [])
        placed: set[str] = set()
        for number, (unit, parts) in enumerate(zip(units, pieces.parts)):
            path = f"images/{record.split}/{unit.name}.png"
            data = {
                IMAGE: options.image_url_prefix + path,
                "atelier_item": record.item_id,
                "atelier_split": record.split,
                "atelier_position": unit.position,
                "atelier_offset_y": unit.top,
            }
            grouped = {p["id"]: p["group"] for p in parts if p.get("group")}
            if grouped:
                data["atelier_groups"] = grouped
            if number == 0 and relations:
                data["atelier_relations"] = [[r["id"], r["from"], r["to"], r["type"]] for r in relations]
            task = {"data": data}
            if document is not None:
                result = _results(parts, pieces.tags, unit, attribute_types)
                here = {p["id"] for p in parts}
                for relation in relations:
                    if relation["id"] not in placed and relation["from"] in here and relation["to"] in here:
                        placed.add(relation["id"])
                        result.append(
                            {
                                "from_id": relation["from"],
                                "to_id": relation["to"],
                                "type": "relation",
                                "direction": "right",
                                "labels": [relation["type"]],
                            }
                        )
                        counts.relations += 1
                task["annotations"] = [{"result": result, "ground_truth": False, "was_cancelled": False}]
            tasks.append(task)
            if options.include_images:
                archive.write_image(path, unit, item_id=record.item_id)
            counts.images += 1
            counts.annotations += len(parts)
        counts.tags += len(pieces.tags)
        counts.items += 1
        progress(counts.items)
    with archive.open("tasks.json") as out:
        tasks.copy_into(out)
    archive.write_text("label_config.xml", label_config(meta))
    return counts


def _results(parts, tags, unit, attribute_types) -> list[dict]:
    results = []
    for part in parts:
        value = _geometry(part, unit)
        kind = "rectanglelabels" if part["type"] == "box" else "polygonlabels"
        common = {
            "id": part["id"],
            "to_name": IMAGE,
            "original_width": unit.width,
            "original_height": unit.height,
            "image_rotation": 0,
        }
        results.append(
            {
                **common,
                "from_name": BOX if part["type"] == "box" else POLYGON,
                "type": kind,
                "value": {**value, kind: [part["class"]]},
            }
        )
        results += _attribute_results(part, common, value, attribute_types)
    for tag in tags:
        common = {"id": tag["id"], "to_name": IMAGE}
        results.append({**common, "from_name": TAGS, "type": "choices", "value": {"choices": [tag["class"]]}})
        results += _attribute_results(tag, common, {}, attribute_types)
    return results


def _geometry(part: dict, unit) -> dict:
    width, height = unit.width, unit.height
    if part["type"] == "box":
        x, y, w, h = part["box"]
        return {
            "x": x * 100 / width,
            "y": y * 100 / height,
            "width": w * 100 / width,
            "height": h * 100 / height,
            "rotation": 0,
        }
    return {"points": [[x * 100 / width, y * 100 / height] for x, y in part["points"]], "closed": True}


def _attribute_results(shape, common, geometry, attribute_types) -> list[dict]:
    known = attribute_types.get(shape["class"], {})
    results = []
    for name, value in (shape.get("attributes") or {}).items():
        kind = known.get(name) or ("tags" if isinstance(value, list) else "text")
        if kind == "choice":
            result_type, body = "choices", {"choices": [value]}
        elif kind == "tags":
            result_type, body = "textarea", {"text": list(value)}
        else:
            result_type, body = "textarea", {"text": [str(value)]}
        results.append({**common, "from_name": f"attr_{name}", "type": result_type, "value": {**geometry, **body}})
    return results


def label_config(meta: ExportMeta) -> str:
    """A Label Studio labeling interface for this export's classes, attributes and relations."""
    boxes = [c for c in meta.classes if "box" in c.get("shapes", ["box"])]
    polygons = [c for c in meta.classes if "polygon" in c.get("shapes", [])]
    tags = [c for c in meta.classes if set(c.get("shapes", [])) == {"tag"}]
    lines = ["<View>", f'  <Image name="{IMAGE}" value="${IMAGE}" zoom="true" zoomControl="true"/>']
    for control, classes in (("RectangleLabels", boxes), ("PolygonLabels", polygons)):
        if classes:
            name = BOX if control == "RectangleLabels" else POLYGON
            lines.append(f'  <{control} name="{name}" toName="{IMAGE}">')
            lines += [
                f"    <Label value={quoteattr(c['name'])} background={quoteattr(c.get('color', '#4e79a7'))}/>"
                for c in classes
            ]
            lines.append(f"  </{control}>")
    if tags:
        lines.append(f'  <Choices name="{TAGS}" toName="{IMAGE}" choice="multiple">')
        lines += [f"    <Choice value={quoteattr(c['name'])}/>" for c in tags]
        lines.append("  </Choices>")
    seen = set()
    for attribute in (a for c in meta.classes for a in c.get("attributes", [])):
        if attribute["name"] in seen:
            continue
        seen.add(attribute["name"])
        name = quoteattr(f"attr_{attribute['name']}")
        if attribute["type"] == "choice":
            lines.append(f'  <Choices name={name} toName="{IMAGE}" perRegion="true">')
            lines += [f"    <Choice value={quoteattr(str(v))}/>" for v in attribute.get("choices", [])]
            lines.append("  </Choices>")
        else:
            lines.append(f'  <TextArea name={name} toName="{IMAGE}" perRegion="true" editable="true"/>')
    if meta.relation_types:
        lines.append("  <Relations>")
        lines += [f"    <Relation value={quoteattr(r['name'])}/>" for r in meta.relation_types]
        lines.append("  </Relations>")
    lines.append("</View>")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- import


def read_label_studio(files: list[tuple[str, bytes]]) -> ReadResult:
    result = ReadResult()
    for name, data in files:
        document = parse_json(data, name, result)
        if document is None:
            continue
        tasks = [document] if isinstance(document, dict) else document
        if not isinstance(tasks, list) or not all(
            isinstance(t, dict) and isinstance(t.get("data"), dict) for t in tasks
        ):
            result.fail(name, NOT_LABEL_STUDIO)
            continue
        for number, task in enumerate(tasks):
            _ls_task(task, number, result)
    return result


def _ls_task(task: dict, number: int, result: ReadResult) -> None:
    label = f"task {task.get('id', number + 1)}"
    data = task["data"]
    reference = data.get("image")
    if reference is None:
        reference = next((v for v in data.values() if isinstance(v, str)), "")
    annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
    if not annotations:
        return  # nothing to import for this image: its document is left as it is
    record = ImportRecord(record=label, reference=str(reference), normalized=True)
    groups = data.get("atelier_groups") if isinstance(data.get("atelier_groups"), dict) else {}
    regions: dict[str, dict] = {}
    relations = []
    for item in annotations[0].get("result") or []:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "relation":
            relations.append(item)
            continue
        _ls_result(item, regions, groups, record, label, result)
    record.shapes = [shape for shape in regions.values() if "type" in shape]
    for shape in regions.values():
        if "type" not in shape:
            result.fail(label, f"region {shape['id']!r} has attributes but no shape")
    record.relations = _ls_relations(relations, data.get("atelier_relations"))
    result.records.append(record)


def _ls_result(item: dict, regions: dict, groups: dict, record: ImportRecord, label: str, result: ReadResult) -> None:
    region_id = str(item.get("id") or f"ls-{len(regions) + 1}")
    shape = regions.setdefault(region_id, {"id": region_id, "attributes": {}})
    value = item.get("value") if isinstance(item.get("value"), dict) else {}
    kind, control = item.get("type"), str(item.get("from_name", ""))
    size = (int_or_none(item.get("original_width")), int_or_none(item.get("original_height")))
    if size[0] and size[1]:
        record.width, record.height = size
    if kind in ("rectanglelabels", "rectangle", "polygonlabels", "polygon") or (
        kind == "choices" and control == "tags"
    ):
        classes = value.get(kind) or value.get("labels") or value.get("choices") or []
        if kind == "choices":
            shape.update({"type": "tag", "class": classes[0] if classes else None})
            return
        shape["class"] = classes[0] if classes else None
        if shape["id"] in groups:
            shape["group"] = groups[shape["id"]]
        if kind.startswith("rectangle"):
            if value.get("rotation"):
                result.fail(label, f"region {region_id!r} is rotated; rotated boxes are not imported")
                return
            numbers = [value.get(k) for k in ("x", "y", "width", "height")]
            if not all(is_number(v) for v in numbers):
                result.fail(label, f"region {region_id!r} needs x, y, width and height")
                return
            shape.update({"type": "box", "box": [v / 100 for v in numbers]})
        else:
            points = value.get("points")
            if not isinstance(points, list) or not all(
                isinstance(p, list) and len(p) == 2 and all(map(is_number, p)) for p in points
            ):
                result.fail(label, f"region {region_id!r} needs points")
                return
            shape.update({"type": "polygon", "points": [[x / 100, y / 100] for x, y in points]})
        return
    name = control[5:] if control.startswith("attr_") else control
    if kind == "textarea":
        shape["attributes"][name] = {"text": value.get("text") or []}
    elif kind in ("choices", "taxonomy"):
        shape["attributes"][name] = {"choices": value.get(kind) or []}
    elif kind == "number":
        shape["attributes"][name] = {"number": value.get("number")}
    else:
        result.fail(label, f"region {region_id!r}: results of type {kind!r} are not imported")


def _ls_relations(items: list[dict], known) -> list[dict]:
    ids = {}
    relations = []
    for entry in known if isinstance(known, list) else []:
        if isinstance(entry, list) and len(entry) == 4:
            relation_id, source, target, kind = (str(v) for v in entry)
            ids[(source, target, kind)] = relation_id
            relations.append({"id": relation_id, "type": kind, "from": source, "to": target})
    seen = {(r["from"], r["to"], r["type"]) for r in relations}
    for number, item in enumerate(items, start=1):
        for kind in item.get("labels") or [None]:
            key = (str(item.get("from_id")), str(item.get("to_id")), kind)
            if key not in seen:
                seen.add(key)
                relations.append({"id": ids.get(key, f"ls-rel-{number}"), "type": kind, "from": key[0], "to": key[1]})
    return relations
