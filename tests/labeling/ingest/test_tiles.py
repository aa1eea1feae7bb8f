"""DZI output checked against an independent computation of the Deep Zoom layout."""

import math
import os
import time
import xml.etree.ElementTree as ElementTree

import pytest
from PIL import Image

from labeling.ingest import tiles
from labeling.ingest.images import normalize
from labeling.ingest.limits import IngestLimits
from labeling.ingest.tiles import THUMBNAIL_NAME, write_deep_zoom

from . import corpus

LIMITS = IngestLimits()
DZI = "{http://schemas.microsoft.com/deepzoom/2008}"


def normalized_png(tmp_path, image: Image.Image):
    path = tmp_path / "normalized.png"
    normalize(source=corpus.encoded(image, "PNG"), limits=LIMITS, output_path=path)
    return path


def banded_strip(width: int, height: int) -> Image.Image:
    """Red top 500 px, blue below, a green row every 254 px to catch off-by-one tiles."""
    image = Image.new("RGB", (width, height), corpus.BLUE)
    image.paste(corpus.RED, (0, 0, width, min(500, height)))
    for row in range(0, height, 254):
        image.paste((0, 255, 0), (0, row, width, row + 1))
    return image


def expected_layout(width, height, tile_size, overlap):
    """Deep Zoom written out from its definition, with floats and ceil, not the writer's code."""
    max_level = math.ceil(math.log2(max(width, height))) if max(width, height) > 1 else 0
    layout = {}
    for level in range(max_level + 1):
        scale = 2 ** (max_level - level)
        level_width, level_height = math.ceil(width / scale), math.ceil(height / scale)
        for column in range(math.ceil(level_width / tile_size)):
            for row in range(math.ceil(level_height / tile_size)):
                x0, y0 = max(column * tile_size - overlap, 0), max(row * tile_size - overlap, 0)
                x1 = min(column * tile_size + tile_size + overlap, level_width)
                y1 = min(row * tile_size + tile_size + overlap, level_height)
                layout[f"{level}/{column}_{row}"] = (x1 - x0, y1 - y0)
    return max_level + 1, layout


def written_layout(files_directory, extension):
    found = {}
    for level in os.listdir(files_directory):
        for name in os.listdir(files_directory / level):
            assert name.endswith(f".{extension}")
            with Image.open(files_directory / level / name) as tile:
                found[f"{level}/{name.removesuffix('.' + extension)}"] = tile.size
    return found


@pytest.mark.parametrize("width, height", [(800, 3000), (690, 2049), (300, 100), (1, 1), (257, 256)])
def test_the_pyramid_matches_the_deep_zoom_definition(tmp_path, width, height):
    source = normalized_png(tmp_path, banded_strip(width, height))
    result = write_deep_zoom(image_path=source, output_dir=tmp_path, name="item-1", limits=LIMITS)
    root = ElementTree.parse(result.dzi_path).getroot()
    assert root.tag == f"{DZI}Image"
    assert (root.get("TileSize"), root.get("Overlap"), root.get("Format")) == ("254", "1", "jpeg")
    size = root.find(f"{DZI}Size")
    assert (size.get("Width"), size.get("Height")) == (str(width), str(height))
    level_count, layout = expected_layout(width, height, 254, 1)
    assert result.level_count == level_count == len(os.listdir(result.tiles_directory))
    assert written_layout(result.tiles_directory, "jpeg") == layout
    assert result.tile_count == len(layout)
    assert result.dzi_path == tmp_path / "item-1" / "item-1.dzi"
    assert result.tiles_directory == tmp_path / "item-1" / "item-1_files"


def test_full_size_png_tiles_are_exact_crops_of_the_image(tmp_path):
    picture = corpus.noise(600, 700)
    source = normalized_png(tmp_path, picture)
    result = write_deep_zoom(image_path=source, output_dir=tmp_path, name="noisy", limits=LIMITS, tile_format="png")
    top_level = result.tiles_directory / str(result.level_count - 1)
    with Image.open(top_level / "1_2.png") as tile:
        assert tile.tobytes() == picture.crop((253, 507, 509, 700)).tobytes()
    with Image.open(result.tiles_directory / "0" / "0_0.png") as smallest:
        assert smallest.size == (1, 1)


def test_a_tall_strip_gets_a_top_crop_thumbnail_at_a_readable_width(tmp_path):
    source = normalized_png(tmp_path, banded_strip(800, 20_000))
    result = write_deep_zoom(image_path=source, output_dir=tmp_path, name="strip", limits=LIMITS)
    with Image.open(result.thumbnail_path) as thumbnail:
        assert thumbnail.size == (result.thumbnail_width, result.thumbnail_height) == (256, 384)
        # The top 500 px are red, so the top of the thumbnail is; at 256/800 scale 384 px show
        # the first 1,200 source rows, so the bottom is blue.
        corpus_close(thumbnail.getpixel((128, 40)), corpus.RED)
        corpus_close(thumbnail.getpixel((128, 370)), corpus.BLUE)


def corpus_close(actual, expected, tolerance=40):
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)), (actual, expected)


@pytest.mark.parametrize(
    "width, height, expected", [(1000, 500, (256, 128)), (100, 50, (100, 50)), (256, 2000, (256, 384))]
)
def test_thumbnails_keep_the_aspect_and_never_upscale(tmp_path, width, height, expected):
    source = normalized_png(tmp_path, Image.new("RGB", (width, height), corpus.RED))
    result = write_deep_zoom(image_path=source, output_dir=tmp_path, name="t", limits=LIMITS)
    with Image.open(result.thumbnail_path) as thumbnail:
        assert thumbnail.size == expected


def test_an_800_by_20000_strip_is_tiled_quickly(tmp_path):
    source = normalized_png(tmp_path, banded_strip(800, 20_000))
    started = time.perf_counter()
    result = write_deep_zoom(image_path=source, output_dir=tmp_path, name="strip", limits=LIMITS)
    elapsed = time.perf_counter() - started
    level_count, layout = expected_layout(800, 20_000, 254, 1)
    assert (result.level_count, result.tile_count) == (level_count, len(layout)) == (16, 445)
    assert elapsed < 5, f"{elapsed:.2f} s; measured about 0.4 s on two cores"


def test_a_failure_half_way_leaves_nothing_behind(tmp_path, monkeypatch):
    source = normalized_png(tmp_path, banded_strip(800, 3000))
    calls = []
    real = tiles._write_level_tiles

    def failing_after_two_levels(*args, **kwargs):
        calls.append(1)
        if len(calls) > 2:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(tiles, "_write_level_tiles", failing_after_two_levels)
    output = tmp_path / "tiles"
    output.mkdir()
    with pytest.raises(OSError):
        write_deep_zoom(image_path=source, output_dir=output, name="strip", limits=LIMITS)
    assert os.listdir(output) == []


def test_running_again_replaces_the_earlier_pyramid_whole(tmp_path):
    output = tmp_path / "tiles"
    output.mkdir()
    first = write_deep_zoom(
        image_path=normalized_png(tmp_path, banded_strip(800, 3000)), output_dir=output, name="x", limits=LIMITS
    )
    second = write_deep_zoom(
        image_path=normalized_png(tmp_path, banded_strip(100, 100)), output_dir=output, name="x", limits=LIMITS
    )
    assert os.listdir(output) == ["x"]
    assert sorted(os.listdir(output / "x")) == sorted(["x.dzi", "x_files", THUMBNAIL_NAME])
    assert len(os.listdir(second.tiles_directory)) == second.level_count < first.level_count


@pytest.mark.parametrize("name", ["../up", "a/b", "", ".hidden", "strip.png", "x" * 101])
def test_unsafe_pyramid_names_are_rejected(tmp_path, name):
    with pytest.raises(ValueError):
        write_deep_zoom(image_path=tmp_path / "unused.png", output_dir=tmp_path, name=name, limits=LIMITS)
