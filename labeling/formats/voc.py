"""Pascal VOC: Annotations/<name>.xml, JPEGImages/<name>.png, ImageSets/Main/<split>.txt.

Coordinates are pixel corners (xmin, ymin, xmax, ymax) in the image, with two decimals kept. VOC has
only boxes: a polygon is written as its bounding box, with its points in an extra <polygon> element.
Extras (ignored by VOC readers): <attributes> (as CVAT writes them), <atelier> with the item, the
shape id and the group id of a shape split across images, and image-level <tags>.
"""

from itertools import count
from xml.sax.saxutils import escape

from labeling.formats.archive import ExportArchive
from labeling.formats.base import SPLITS, ExportCounts, ExportMeta, Records
from labeling.formats.layout import bounds_of, cut, image_units


def write_voc(
    records: Records, *, meta: ExportMeta, options, archive: ExportArchive, workdir, progress
) -> ExportCounts:
    counts = ExportCounts()
    groups = count(1)
    listed = {split: [] for split in options.splits}  # image names only: small next to the export
    for record in records:
        if record.split not in listed:
            continue
        units = image_units(item_id=record.item_id, snapshot=record.snapshot, layout=options.layout)
        document = record.snapshot.get("annotation") or {}
        pieces = cut(document.get("shapes", []), units, groups)
        counts.groups += pieces.groups
        counts.dropped += pieces.dropped
        counts.tags += len(pieces.tags)
        for unit, parts in zip(units, pieces.parts):
            archive.write_text(f"Annotations/{unit.name}.xml", _xml(meta, record, unit, parts, pieces.tags))
            if options.include_images:
                archive.write_image(f"JPEGImages/{unit.name}.png", unit, item_id=record.item_id)
            listed[record.split].append(unit.name)
            counts.images += 1
            counts.annotations += len(parts)
        counts.items += 1
        progress(counts.items)
    for split in SPLITS:
        if split in listed:
            archive.write_text(f"ImageSets/Main/{split}.txt", "".join(f"{name}\n" for name in listed[split]))
    archive.write_text("labels.txt", "".join(f"{name}\n" for name in meta.shape_classes))
    return counts


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _xml(meta, record, unit, parts, tags) -> str:
    out = [
        "<annotation>",
        f"<folder>{escape(meta.dataset)}</folder>",
        f"<filename>{unit.name}.png</filename>",
        "<source><database>Atelier</database></source>",
        f"<size><width>{unit.width}</width><height>{unit.height}</height><depth>3</depth></size>",
        "<segmented>0</segmented>",
        f"<atelier><item>{record.item_id}</item><position>{'' if unit.position is None else unit.position}</position>"
        f"<offset_y>{unit.top}</offset_y><split>{record.split}</split></atelier>",
    ]
    if tags:
        out.append("<tags>" + "".join(f"<tag>{escape(t['class'])}</tag>" for t in tags) + "</tags>")
    for part in parts:
        x, y, w, h = bounds_of(part)
        out += [
            "<object>",
            f"<name>{escape(part['class'])}</name>",
            "<pose>Unspecified</pose>",
            f"<truncated>{1 if part.get('group') else 0}</truncated>",
            "<difficult>0</difficult>",
            f"<bndbox><xmin>{_number(x)}</xmin><ymin>{_number(y)}</ymin>"
            f"<xmax>{_number(x + w)}</xmax><ymax>{_number(y + h)}</ymax></bndbox>",
        ]
        if part["type"] == "polygon":
            out.append(
                "<polygon>"
                + "".join(f"<pt><x>{_number(px)}</x><y>{_number(py)}</y></pt>" for px, py in part["points"])
                + "</polygon>"
            )
        attributes = part.get("attributes") or {}
        if attributes:
            out.append(
                "<attributes>"
                + "".join(
                    f"<attribute><name>{escape(name)}</name><value>{escape(_text(value))}</value></attribute>"
                    for name, value in attributes.items()
                )
                + "</attributes>"
            )
        group = part.get("group")
        out.append(
            f"<atelier><shape>{escape(part['id'])}</shape><group>{'' if group is None else group}</group></atelier>"
        )
        out.append("</object>")
    out.append("</annotation>")
    return "\n".join(out) + "\n"


def _text(value) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
