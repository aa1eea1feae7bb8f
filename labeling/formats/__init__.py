"""Interchange formats for frozen versions and annotation imports (docs/decisions.md §7). Pure Python.

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
