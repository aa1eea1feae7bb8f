"""YOLO (Ultralytics layout): data.yaml, images/<split>/<name>.png, labels/<split>/<name>.txt.

A label line is `class cx cy w h` (detect) or `class x1 y1 x2 y2 ...` (segment), normalized to the
image it belongs to; so labels are always local to their image (a slice, a tile or a stitched item).
With `tile_height`, each image is cut into tiles of that height (the last one shorter) and every
shape is clipped to each tile it crosses; a part with no area left is dropped. Relations, attributes
and tags have no place in YOLO and are not written.
"""

from itertools import count

from labeling.formats.archive import ExportArchive
from labeling.formats.base import SPLITS, ExportCounts, ExportMeta, Records
from labeling.formats.json_array import dumps
from labeling.formats.layout import bounds_of, cut, image_units, polygon_of


def write_yolo(
    records: Records, *, meta: ExportMeta, options, archive: ExportArchive, workdir, progress
) -> ExportCounts:
    counts = ExportCounts()
    classes = {name: number for number, name in enumerate(meta.shape_classes)}
    groups = count(1)
    for record in records:
        if record.split not in options.splits:
            continue
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
    archive.write_text(
        "data.yaml", data_yaml(meta=meta, splits=[s for s in SPLITS if s in options.splits], options=options)
    )
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
