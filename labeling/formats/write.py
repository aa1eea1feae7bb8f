"""The one entry point: pick the writer, stream the records into a zip at `path`."""

from pathlib import Path

from labeling.formats.archive import ExportArchive
from labeling.formats.base import ExportCounts, ExportMeta, ImagePath, Progress, Records
from labeling.formats.coco import write_coco
from labeling.formats.labelstudio import write_label_studio
from labeling.formats.options import ExportOptions
from labeling.formats.voc import write_voc
from labeling.formats.yolo import write_yolo

WRITERS = {"coco": write_coco, "yolo": write_yolo, "voc": write_voc, "label_studio": write_label_studio}


def export_write(
    *,
    records: Records,
    meta: ExportMeta,
    options: ExportOptions,
    path: Path,
    workdir: Path,
    image_path: ImagePath | None = None,
    progress: Progress | None = None,
) -> ExportCounts:
    """Write the export archive to `path` (a zip); temporary files go to `workdir` and are removed.

    `image_path(sha256)` locates a stored slice; it is needed only with `options.include_images`.
    `progress(items_done)` is called after each item.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    with ExportArchive(path, image_path=image_path if options.include_images else None) as archive:
        return WRITERS[options.format](
            records,
            meta=meta,
            options=options,
            archive=archive,
            workdir=workdir,
            progress=progress or (lambda done: None),
        )
