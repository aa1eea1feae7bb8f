"""Reading COCO, YOLO and Label Studio annotations for an import onto a dataset's images. Pure Python.

Each reader turns the uploaded files into `ImportRecord`s, one per image it names, and collects
per-record problems instead of stopping at the first; the import service matches each record's
reference to an image of the dataset and writes nothing unless every record is clean.
Coordinates: COCO records are in the image's pixels; YOLO and Label Studio records are fractions
of the image (`normalized`), turned into pixels once the image, and so its size, is known.
"""

import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

FORMATS = ("coco", "yolo", "label_studio")

NOT_JSON = "the file is not JSON (UTF-8)"
NOT_COCO = "not a COCO file: it needs `images`, `annotations` and `categories` lists"
NOT_LABEL_STUDIO = "not a Label Studio export: it needs a list of tasks, each with `data`"
NO_YOLO_NAMES = "a YOLO import needs data.yaml (with `names`) or classes.txt beside the labels"
NO_YOLO_LABELS = "the archive has no label files (labels/**/*.txt)"
REF_ABSOLUTE = "{ref!r} is an absolute path: refer to images by file name"
REF_PARENT = "{ref!r} climbs out of its folder (`..`)"
REF_URL = "{ref!r} is a URL: images are referred to by file name, and URLs are never fetched"
REF_EMPTY = "the record names no image"


@dataclass
class ImportRecord:
    record: str  # how errors name it: "image 12", "task 3", "labels/train/a.txt"
    reference: str  # the image it names, as written in the file
    shapes: list[dict] = field(default_factory=list)
    relations: list[dict] = field(default_factory=list)
    normalized: bool = False  # coordinates are fractions of the image's width and height
    width: int | None = None  # the size the file declares for the image, when it does
    height: int | None = None


@dataclass
class ReadResult:
    records: list[ImportRecord] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # {"record", "message"}

    def fail(self, record: str, message: str) -> None:
        self.errors.append({"record": record, "message": message})


# ---------------------------------------------------------------- references


def reference_problem(reference: str) -> str | None:
    """Why a reference points outside the uploaded set, or None. Checked before any matching."""
    if not isinstance(reference, str) or not reference.strip():
        return REF_EMPTY
    path = reference_path(reference)
    if path is None:
        return REF_URL.format(ref=reference)
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path) or path.startswith("~"):
        return REF_ABSOLUTE.format(ref=reference)
    if ".." in path.split("/"):
        return REF_PARENT.format(ref=reference)
    return None


def reference_path(reference: str) -> str | None:
    """The path a reference names (backslashes and %-escapes undone); None for a URL to elsewhere.

    Label Studio's local-files form `/data/local-files/?d=<path>` names <path>.
    """
    text = reference.strip()
    if re.match(r"^[A-Za-z]:[\\/]", text):
        return text.replace("\\", "/")  # a Windows drive path (not a URL scheme): absolute
    parts = urlsplit(text)
    if "d" in parse_qs(parts.query) and parts.path.rstrip("/").endswith("local-files"):
        text = parse_qs(parts.query)["d"][0]
    elif parts.scheme or parts.netloc:
        return None
    return unquote(text).replace("\\", "/")


def reference_name(reference: str) -> str:
    return reference_path(reference).rsplit("/", 1)[-1]


# ---------------------------------------------------------------- COCO


def read_coco(files: list[tuple[str, bytes]]) -> ReadResult:
    result = ReadResult()
    for name, data in files:
        document = _json(data, name, result)
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
            width=_int(image.get("width")),
            height=_int(image.get("height")),
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
            if len(ring) % 2 or len(ring) < 6 or not all(_is_number(v) for v in ring):
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
    if not isinstance(bbox, list) or len(bbox) != 4 or not all(_is_number(v) for v in bbox):
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


# ---------------------------------------------------------------- YOLO


def read_yolo(files: list[tuple[str, bytes]]) -> ReadResult:
    result = ReadResult()
    names = _yolo_names(files, result)
    labels = [(n, d) for n, d in files if n.lower().endswith(".txt") and n.rsplit("/", 1)[-1] != "classes.txt"]
    if names is None:
        result.fail("data.yaml", NO_YOLO_NAMES)
        return result
    if not labels:
        result.fail("archive", NO_YOLO_LABELS)
        return result
    for name, data in labels:
        stem = name.rsplit("/", 1)[-1][:-4]
        record = ImportRecord(record=name, reference=stem, normalized=True)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            result.fail(name, "not UTF-8 text")
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                shape = _yolo_shape(line, names, f"{name}:{number}", result)
                if shape is not None:
                    record.shapes.append(shape)
        result.records.append(record)
    return result


def _yolo_names(files, result: ReadResult) -> list[str] | None:
    import yaml

    for name, data in files:
        base = name.rsplit("/", 1)[-1]
        if base in ("data.yaml", "data.yml", "dataset.yaml"):
            try:
                names = (yaml.safe_load(data.decode("utf-8")) or {}).get("names")
            except (yaml.YAMLError, UnicodeDecodeError, AttributeError):
                result.fail(name, "not a YAML mapping")
                return None
            if isinstance(names, dict):
                return [str(names[k]) for k in sorted(names, key=int)]
            if isinstance(names, list):
                return [str(n) for n in names]
        if base == "classes.txt":
            return [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    return None


def _yolo_shape(line: str, names: list[str], label: str, result: ReadResult) -> dict | None:
    tokens = line.split()
    try:
        number, values = int(tokens[0]), [float(v) for v in tokens[1:]]
    except ValueError:
        result.fail(label, "a label line is a class number and fractions of the image")
        return None
    if not 0 <= number < len(names):
        result.fail(label, f"class {number} is not in names (0 to {len(names) - 1})")
        return None
    shape_id = "yolo-" + label.rsplit(":", 1)[-1]
    if len(values) == 4:
        cx, cy, w, h = values
        return {
            "id": shape_id,
            "class": names[number],
            "type": "box",
            "box": [cx - w / 2, cy - h / 2, w, h],
            "attributes": {},
        }
    if len(values) >= 6 and len(values) % 2 == 0:
        return {
            "id": shape_id,
            "class": names[number],
            "type": "polygon",
            "points": [[values[i], values[i + 1]] for i in range(0, len(values), 2)],
            "attributes": {},
        }
    result.fail(label, "a line has 4 numbers after the class (a box) or 3 or more x, y pairs (a polygon)")
    return None


# ---------------------------------------------------------------- Label Studio


def read_label_studio(files: list[tuple[str, bytes]]) -> ReadResult:
    result = ReadResult()
    for name, data in files:
        document = _json(data, name, result)
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
    size = (_int(item.get("original_width")), _int(item.get("original_height")))
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
            if not all(_is_number(v) for v in numbers):
                result.fail(label, f"region {region_id!r} needs x, y, width and height")
                return
            shape.update({"type": "box", "box": [v / 100 for v in numbers]})
        else:
            points = value.get("points")
            if not isinstance(points, list) or not all(
                isinstance(p, list) and len(p) == 2 and all(map(_is_number, p)) for p in points
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


# ---------------------------------------------------------------- helpers


def _json(data: bytes, name: str, result: ReadResult):
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        result.fail(name, NOT_JSON)
        return None


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


READERS = {"coco": read_coco, "yolo": read_yolo, "label_studio": read_label_studio}
