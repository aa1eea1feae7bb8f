"""The export archive: one zip, written entry by entry (never the whole export in memory).

Images are stored (PNG is already compressed); text files are deflated at level 1, which keeps a
500,000-box COCO export inside its time budget (bench/export.py).
"""

import zipfile
from pathlib import Path

from labeling.formats.base import ImagePath
from labeling.formats.layout import ImageUnit

IMAGE_MISSING = "the stored image {sha256} of item {item} is missing on the server"


class ExportFailed(Exception):
    """The export as a whole cannot be written; the message is shown on the job."""


class ExportArchive:
    def __init__(self, path: Path, *, image_path: ImagePath | None):
        self.path = path
        self.image_path = image_path
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1, allowZip64=True)
        self.names: set[str] = set()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.zip.close()

    def open(self, name: str):
        """A binary stream for one text entry, written as it comes (force_zip64: it may pass 4 GiB)."""
        self.names.add(name)
        return self.zip.open(name, "w", force_zip64=True)

    def write_text(self, name: str, text: str) -> None:
        self.names.add(name)
        self.zip.writestr(name, text)

    def write_image(self, name: str, unit: ImageUnit, *, item_id: int) -> None:
        """The unit's pixels as PNG: a whole stored slice is copied; a tile or stitched item is composed."""
        if self.image_path is None or name in self.names:
            return
        self.names.add(name)
        if unit.whole_slice:
            source = self._source(unit.sources[0][0], item_id)
            self.zip.write(source, name, compress_type=zipfile.ZIP_STORED)
            return
        from PIL import Image

        canvas = Image.new("RGB", (unit.width, unit.height), "white")
        for sha256, top, height in unit.sources:
            low, high = max(unit.top, top), min(unit.top + unit.height, top + height)
            if low >= high:
                continue
            with Image.open(self._source(sha256, item_id)) as stored:
                piece = stored.convert("RGB").crop((0, low - top, min(stored.width, unit.width), high - top))
            canvas.paste(piece, (0, low - unit.top))
        with self.zip.open(name, "w", force_zip64=True) as stream:
            canvas.save(stream, "PNG")

    def _source(self, sha256: str, item_id: int) -> Path:
        path = self.image_path(sha256)
        if not path.is_file():
            raise ExportFailed(IMAGE_MISSING.format(sha256=sha256, item=item_id))
        return path
