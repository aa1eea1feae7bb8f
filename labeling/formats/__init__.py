"""Annotation formats: one module per format, holding its writer (export) and its reader (import).
Pure Python (docs/exports.md; docs/decisions.md §7).

    coco.py yolo.py voc.py labelstudio.py   write_<format>, and read_<format> (VOC has no reader)
    write.py      export_write: the one entry point of an export (picks the writer, one zip)
    read.py       READERS: the one entry point of an import; which image references are refused
    base.py       what writers take and report, what readers return
    options.py    export options, checked before any job exists
    layout.py     which images an item becomes, and which part of each shape lands on each
    archive.py    the zip, written entry by entry
    json_array.py a JSON array spooled to a temporary file (COCO, Label Studio)

Writers take an iterator of `ExportRecord` (one frozen VersionItem snapshot each) and stream an
export archive to a path: nothing here imports Django, and no writer holds the whole export in
memory (annotations go to temporary files, images are copied one at a time). Readers turn a COCO,
YOLO or Label Studio file into per-file records that the import service matches to a dataset.

    records ─► layout.image_units (slices | stitched, YOLO tiles) ─► layout.cut (per-image parts)
            ─► coco | yolo | voc | labelstudio writer ─► one zip (docs/exports.md)
"""

from labeling.formats.base import ExportCounts, ExportMeta, ExportRecord  # noqa: F401
from labeling.formats.options import FORMATS, ExportOptions, OptionsInvalid, options_parse  # noqa: F401
from labeling.formats.write import export_write  # noqa: F401
