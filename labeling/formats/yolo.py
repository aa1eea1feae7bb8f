"""YOLO (Ultralytics layout): data.yaml, images/<split>/<name>.png, labels/<split>/<name>.txt.

A label line is `class cx cy w h` (detect) or `class x1 y1 x2 y2 ...` (segment), normalized to the
image it belongs to; so labels are always local to their image (a slice, a tile or a stitched item).
With `tile_height`, each image is cut into tiles of that height (the last one shorter) and every
shape is clipped to each tile it crosses; a part with no area left is dropped. Relations, attributes
and tags have no place in YOLO and are not written.

Import (`read_yolo`): label files named after their image, with class names from data.yaml or
classes.txt; shapes stay fractions of the image until the import service knows its size. YOLO has no
shape ids: a shape is `yolo-<file>-<line>` (the label file's number in the archive, the line's in the
file), so the slices of an episode, whose label files all start at line 1, never share one.
"""

from itertools import count

from labeling.formats.archive import ExportArchive
from labeling.formats.base import SPLITS, ExportCounts, ExportMeta, ImportRecord, ReadResult, Records
from labeling.formats.json_array import dumps
from labeling.formats.layout import bounds_of, cut, image_units, polygon_of

NO_YOLO_NAMES = "a YOLO import needs data.yaml (with `names`) or classes.txt beside the labels"
NO_YOLO_LABELS = "the archive has no label files (labels/**/*.txt)"


def write_yolo(
    records: Records, *, meta: ExportMeta, options, archive: ExportArchive, workdir, progress
) -> ExportCounts:
    counts = ExportCounts()
    classes = {name: number for number, name in enumerate(meta.shape_classes)}
    groups = count(1)
    written = set()  # splits with at least one image: data.yaml lists only these (YOLO refuses a missing folder)
    for record in records:
        if record.split not in options.splits:
            continue
        written.add(record.split)
        units = image_units(
            item_id=record.item_id, snapshot=record.snapshot, layout=options.layout, tile_height=options.tile_height
        )
        document = record.snapshot.get("annotation") or {}
        pieces = cut(document.get("shapes", []), units, groups)
        counts.groups += pieces.groups
        counts.dropped += pieces.dropped
        for unit, parts in zip(units, pieces.parts):
            lines = []
            for part in parts:
                number = classes.get(part["class"])
                if number is None:
                    counts.dropped += 1
                    continue
                lines.append(label_line(part, number, unit.width, unit.height, segment=options.task == "segment"))
            archive.write_text(f"labels/{record.split}/{unit.name}.txt", "".join(line + "\n" for line in lines))
            if options.include_images:
                archive.write_image(f"images/{record.split}/{unit.name}.png", unit, item_id=record.item_id)
            counts.images += 1
            counts.annotations += len(lines)
        counts.items += 1
        progress(counts.items)
    archive.write_text("data.yaml", data_yaml(meta=meta, splits=[s for s in SPLITS if s in written], options=options))
    return counts


def label_line(part: dict, number: int, width: int, height: int, *, segment: bool) -> str:
    if segment:
        points = polygon_of(part)
        return f"{number} " + " ".join(f"{x / width:.6f} {y / height:.6f}" for x, y in points)
    x, y, w, h = bounds_of(part)
    return f"{number} {(x + w / 2) / width:.6f} {(y + h / 2) / height:.6f} {w / width:.6f} {h / height:.6f}"


def data_yaml(*, meta: ExportMeta, splits: list[str], options) -> str:
    # JSON strings are YAML scalars, so names with colons or quotes need no YAML library.
    lines = [f"# {meta.dataset} v{meta.version} exported by Atelier ({meta.content_hash})", "path: ."]
    lines += [f"{split}: images/{split}" for split in splits]
    lines.append(f"nc: {len(meta.shape_classes)}")
    lines.append("names:")
    lines += [f"  {number}: {dumps(name)}" for number, name in enumerate(meta.shape_classes)]
    lines.append(f"# atelier: layout={options.layout} tile_height={options.tile_height or 'none'} task={options.task}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- import


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
    for file_number, (name, data) in enumerate(labels, start=1):
        stem = name.rsplit("/", 1)[-1][:-4]
        record = ImportRecord(record=name, reference=stem, normalized=True)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            result.fail(name, "not UTF-8 text")
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                shape = _yolo_shape(line, names, f"{name}:{number}", f"yolo-{file_number}-{number}", result)
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


def _yolo_shape(line: str, names: list[str], label: str, shape_id: str, result: ReadResult) -> dict | None:
    tokens = line.split()
    try:
        number, values = int(tokens[0]), [float(v) for v in tokens[1:]]
    except ValueError:
        result.fail(label, "a label line is a class number and fractions of the image")
        return None
    if not 0 <= number < len(names):
        result.fail(label, f"class {number} is not in names (0 to {len(names) - 1})")
        return None
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
