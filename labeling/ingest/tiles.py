"""Deep Zoom (DZI) tile pyramid and thumbnail for a normalized image, written atomically.

Layout, all under one folder so that one rename publishes it:

    <output_dir>/<name>/<name>.dzi                          the XML OpenSeadragon opens
    <output_dir>/<name>/<name>_files/<level>/<col>_<row>.<format>
    <output_dir>/<name>/thumbnail.jpg

Levels follow the DZI convention: level L is the image scaled by 2^(L - max_level), rounded
up, where max_level = ceil(log2(max(width, height))), down to level 0 (1 x 1 px). Tiles are
`tile_size` px plus `overlap` px on each side that has a neighbour.

Memory: the full-size image is decoded once (width x height x 3 bytes: 48 MB for 800 x 20,000),
and each lower level is made from the one above by a 2x2 box reduce, so pixel buffers peak at
1.25 times the decoded image (about 1.7 times in measured RSS, docs/ingest.md); nothing is
decoded twice. Memory still grows with the image: the pixel limit is what bounds it.
"""

import contextlib
import dataclasses
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from PIL import Image

from .images import CANONICAL_FORMAT, pixel_limit_armed
from .limits import IngestLimits

DZI_NAMESPACE = "http://schemas.microsoft.com/deepzoom/2008"
DEFAULT_TILE_SIZE = 254  # 254 + 2 x 1 overlap = 256 px interior tiles, what OpenSeadragon expects
DEFAULT_OVERLAP = 1
TILE_FORMATS = {"jpeg": "JPEG", "png": "PNG"}
THUMBNAIL_NAME = "thumbnail.jpg"
THUMBNAIL_MAX_WIDTH = 256
# A 800 x 20,000 strip fitted into 256 px of width is 6,400 px tall; fitted into a box it is a
# 10 px wide line. Neither shows anything in a grid. We scale to the width and keep the top
# (the title panel, which is what people recognise an episode by) down to 1.5 times the width.
THUMBNAIL_MAX_HEIGHT = 384
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


@dataclass(frozen=True)
class DeepZoom:
    directory: Path  # <output_dir>/<name>
    dzi_path: Path
    tiles_directory: Path
    thumbnail_path: Path
    width: int
    height: int
    tile_size: int
    overlap: int
    tile_format: str  # "jpeg" or "png", also the tiles' file extension
    level_count: int  # max_level + 1
    tile_count: int
    thumbnail_width: int
    thumbnail_height: int


def dzi_level_count(*, width: int, height: int) -> int:
    """max_level + 1, with max_level = ceil(log2(max side)); integer arithmetic, no float log."""
    return (max(width, height) - 1).bit_length() + 1


def write_deep_zoom(
    *,
    image_path: Path,
    output_dir: Path,
    name: str,
    limits: IngestLimits,
    tile_size: int = DEFAULT_TILE_SIZE,
    overlap: int = DEFAULT_OVERLAP,
    tile_format: str = "jpeg",
    jpeg_quality: int = 90,
) -> DeepZoom:
    """Write the pyramid and thumbnail for image_path; replace any earlier result for `name`.

    A failure leaves no trace: everything is written into a hidden temporary folder beside the
    target and renamed into place at the end.
    """
    _check_arguments(name, tile_format, tile_size, overlap)
    output_dir = Path(output_dir)
    final = output_dir / name
    staging = Path(tempfile.mkdtemp(dir=output_dir, prefix=f".{name}.", suffix=".tmp"))
    try:
        result = _write_all(image_path, staging, name, limits, tile_size, overlap, tile_format, jpeg_quality)
        _swap_into_place(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return _relocated(result, staging, final)


def _check_arguments(name: str, tile_format: str, tile_size: int, overlap: int) -> None:
    # The name becomes a path: callers pass a content hash or an id, never a client's file name.
    if not _SAFE_NAME.fullmatch(name):
        raise ValueError(f"unsafe pyramid name {name!r}; use letters, digits, '_' and '-'")
    if tile_format not in TILE_FORMATS:
        raise ValueError(f"tile_format must be one of {sorted(TILE_FORMATS)}")
    if tile_size < 1 or overlap < 0:
        raise ValueError("tile_size must be positive and overlap not negative")


def _write_all(image_path, staging: Path, name: str, limits, tile_size, overlap, tile_format, quality) -> DeepZoom:
    image = _open_normalized(image_path, limits)
    width, height = image.size
    thumbnail_size = _write_thumbnail(image, staging / THUMBNAIL_NAME)
    tiles_directory = staging / f"{name}_files"
    save = _tile_saver(tile_format, quality)
    tile_count = _write_levels(image, tiles_directory, tile_size, overlap, tile_format, save)
    dzi_path = staging / f"{name}.dzi"
    xml = dzi_xml(width=width, height=height, tile_size=tile_size, overlap=overlap, tile_format=tile_format)
    dzi_path.write_text(xml)
    return DeepZoom(
        directory=staging,
        dzi_path=dzi_path,
        tiles_directory=tiles_directory,
        thumbnail_path=staging / THUMBNAIL_NAME,
        width=width,
        height=height,
        tile_size=tile_size,
        overlap=overlap,
        tile_format=tile_format,
        level_count=dzi_level_count(width=width, height=height),
        tile_count=tile_count,
        thumbnail_width=thumbnail_size[0],
        thumbnail_height=thumbnail_size[1],
    )


def _open_normalized(image_path: Path, limits: IngestLimits) -> Image.Image:
    # The file is our own normalized PNG, but the pixel limit stays armed: a bug elsewhere must
    # not turn into a worker decoding a bomb.
    with pixel_limit_armed(limits):
        image = Image.open(image_path, formats=[CANONICAL_FORMAT])
        image.load()
    return image if image.mode in ("RGB", "L") else image.convert("RGB")


def dzi_xml(*, width: int, height: int, tile_size: int, overlap: int, tile_format: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Image xmlns={quoteattr(DZI_NAMESPACE)} Format={quoteattr(tile_format)} "
        f'Overlap="{overlap}" TileSize="{tile_size}">\n'
        f'  <Size Width="{width}" Height="{height}"/>\n'
        "</Image>\n"
    )


def _tile_saver(tile_format: str, quality: int):
    pillow_format = TILE_FORMATS[tile_format]
    options = {"quality": quality} if pillow_format == "JPEG" else {"compress_level": 1}

    def save(tile: Image.Image, path: Path) -> None:
        tile.save(path, pillow_format, **options)

    return save


def _write_levels(
    image: Image.Image, tiles_directory: Path, tile_size: int, overlap: int, tile_format: str, save
) -> int:
    """From the largest level down, each level a 2x2 reduce of the one above (DZI rounds up, so does reduce)."""
    level = dzi_level_count(width=image.width, height=image.height) - 1
    current = image
    written = 0
    while level >= 0:
        written += _write_level_tiles(current, tiles_directory / str(level), tile_size, overlap, tile_format, save)
        level -= 1
        if level >= 0:
            current = current.reduce(2)  # the previous level is released here
    return written


def _write_level_tiles(
    level_image: Image.Image, directory: Path, tile_size: int, overlap: int, tile_format: str, save
) -> int:
    directory.mkdir(parents=True)
    columns = math.ceil(level_image.width / tile_size)
    rows = math.ceil(level_image.height / tile_size)
    for column in range(columns):
        for row in range(rows):
            box = tile_box(
                column=column,
                row=row,
                level_width=level_image.width,
                level_height=level_image.height,
                tile_size=tile_size,
                overlap=overlap,
            )
            save(level_image.crop(box), directory / f"{column}_{row}.{tile_format}")
    return columns * rows


def tile_box(
    *, column: int, row: int, level_width: int, level_height: int, tile_size: int, overlap: int
) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of a tile: its cell plus `overlap` px toward every neighbour."""
    left = column * tile_size - (overlap if column > 0 else 0)
    top = row * tile_size - (overlap if row > 0 else 0)
    right = min((column + 1) * tile_size + overlap, level_width)
    bottom = min((row + 1) * tile_size + overlap, level_height)
    return left, top, right, bottom


def thumbnail_size(*, width: int, height: int) -> tuple[tuple[int, int], int]:
    """((thumbnail width, height), source rows used from the top): see THUMBNAIL_MAX_HEIGHT."""
    scale = min(1.0, THUMBNAIL_MAX_WIDTH / width)
    thumb_width = max(1, round(width * scale))
    thumb_height = max(1, min(round(height * scale), THUMBNAIL_MAX_HEIGHT))
    source_rows = min(height, max(1, round(thumb_height / scale)))
    return (thumb_width, thumb_height), source_rows


def _write_thumbnail(image: Image.Image, path: Path) -> tuple[int, int]:
    size, source_rows = thumbnail_size(width=image.width, height=image.height)
    top = image.crop((0, 0, image.width, source_rows))
    thumbnail = top.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    thumbnail.save(path, "JPEG", quality=85)
    return size


def _swap_into_place(staging: Path, final: Path) -> None:
    """Publish staging as final with one rename; an earlier result is moved aside, then deleted."""
    if not final.exists():
        os.rename(staging, final)
        return
    retired = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".old"))
    os.rename(final, retired / final.name)
    try:
        os.rename(staging, final)
    except OSError:
        os.rename(retired / final.name, final)  # put the earlier result back before failing
        raise
    with contextlib.suppress(OSError):
        shutil.rmtree(retired)


def _relocated(result: DeepZoom, staging: Path, final: Path) -> DeepZoom:
    def moved(path: Path) -> Path:
        return final / path.relative_to(staging)

    return dataclasses.replace(
        result,
        directory=final,
        dzi_path=moved(result.dzi_path),
        tiles_directory=moved(result.tiles_directory),
        thumbnail_path=moved(result.thumbnail_path),
    )
