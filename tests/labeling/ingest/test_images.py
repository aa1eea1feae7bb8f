"""The image corpus: every bad or odd file with the exact outcome docs/decisions.md §7 gives it."""

import hashlib
import io
import os

import pytest
from PIL import EpsImagePlugin, Image

from labeling.ingest import images
from labeling.ingest.fingerprints import hamming_distance
from labeling.ingest.images import (
    REASON_ANIMATED,
    REASON_EMPTY,
    REASON_FILE_TOO_LARGE,
    REASON_MULTIPAGE_TIFF,
    REASON_NOT_AN_IMAGE,
    REASON_OTHER_FORMAT,
    REASON_PDF,
    REASON_PIXELS_OVER_LIMIT,
    REASON_POSTSCRIPT,
    REASON_SIDE_OVER_LIMIT,
    REASON_SVG,
    REASON_TOO_MANY_FILES,
    REASON_TRUNCATED,
    REASON_UNREADABLE_HEADER,
    HeaderInfo,
    NormalizedImage,
    check_file_count,
    check_header,
    normalize,
    pixel_limit_armed,
    sniff,
)
from labeling.ingest.limits import IngestLimits
from labeling.ingest.refusals import Refusal

from . import corpus

LIMITS = IngestLimits()


def pixels_of(result: NormalizedImage) -> Image.Image:
    assert isinstance(result, NormalizedImage), result
    stored = Image.open(io.BytesIO(result.data))
    assert stored.format == "PNG"
    assert (stored.width, stored.height, stored.mode) == (result.width, result.height, result.mode)
    return stored


def assert_close(actual, expected, tolerance=12):
    actual = actual if isinstance(actual, tuple) else (actual,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)), (actual, expected)


# ---------------------------------------------------------------- refused, with the exact reason

side_reason = REASON_SIDE_OVER_LIMIT.format
pixels_reason = REASON_PIXELS_OVER_LIMIT.format

REFUSED = [
    ("empty", lambda: b"", Refusal("empty", REASON_EMPTY)),
    (
        "truncated_jpeg",
        lambda: corpus.first_half(corpus.encoded(corpus.noise(64, 64), "JPEG", quality=95)),
        Refusal("truncated", REASON_TRUNCATED),
    ),
    (
        "truncated_png",
        lambda: corpus.first_half(corpus.encoded(corpus.noise(64, 64), "PNG")),
        Refusal("truncated", REASON_TRUNCATED),
    ),
    ("animated_gif", corpus.animated_gif, Refusal("animated", REASON_ANIMATED.format(format="GIF"))),
    ("animated_png", corpus.animated_png, Refusal("animated", REASON_ANIMATED.format(format="PNG"))),
    ("animated_webp", corpus.animated_webp, Refusal("animated", REASON_ANIMATED.format(format="WebP"))),
    ("multipage_tiff", corpus.multipage_tiff, Refusal("multipage_tiff", REASON_MULTIPAGE_TIFF)),
    (
        "bomb_header_800x240000",
        lambda: corpus.png_header_only(800, 240_000),
        Refusal("side_over_limit", side_reason(width=800, height=240000, limit=150000), 150_000),
    ),
    (
        "oversize_side_10x150001",
        lambda: corpus.png_header_only(10, 150_001),
        Refusal("side_over_limit", side_reason(width=10, height=150001, limit=150000), 150_000),
    ),
    (
        "pixel_bomb_12000x12000",
        lambda: corpus.png_header_only(12_000, 12_000),
        Refusal(
            "pixels_over_limit",
            pixels_reason(width=12000, height=12000, pixels=144_000_000, limit=100_000_000),
            100_000_000,
        ),
    ),
    ("svg", lambda: corpus.SVG, Refusal("svg", REASON_SVG)),
    ("svg_bom_doctype", lambda: corpus.SVG_WITH_BOM_AND_DOCTYPE, Refusal("svg", REASON_SVG)),
    ("text_named_png", lambda: corpus.TEXT_NAMED_PNG, Refusal("not_an_image", REASON_NOT_AN_IMAGE)),
    ("html", lambda: corpus.HTML, Refusal("not_an_image", REASON_NOT_AN_IMAGE)),
    ("eps", lambda: corpus.EPS, Refusal("postscript", REASON_POSTSCRIPT)),
    ("dos_eps", lambda: corpus.DOS_EPS, Refusal("postscript", REASON_POSTSCRIPT)),
    ("pdf", lambda: corpus.PDF, Refusal("pdf", REASON_PDF)),
    ("psd", lambda: corpus.PSD, Refusal("format_not_accepted", REASON_OTHER_FORMAT.format(format="Photoshop (PSD)"))),
    (
        "jpeg_magic_then_garbage",
        lambda: corpus.FAKE_JPEG,
        Refusal("unreadable_header", REASON_UNREADABLE_HEADER.format(format="JPEG")),
    ),
]
# Refusals the header alone decides; the truncated files pass the header and fail at decode.
DECIDED_BY_HEADER = [case for case in REFUSED if case[2].code != "truncated"]


@pytest.mark.parametrize("name, make, expected", REFUSED, ids=[case[0] for case in REFUSED])
def test_it_refuses_bad_files_with_the_exact_reason(name, make, expected):
    assert normalize(source=make(), limits=LIMITS) == expected


@pytest.mark.parametrize("name, make, expected", DECIDED_BY_HEADER, ids=[case[0] for case in DECIDED_BY_HEADER])
def test_the_cheap_header_check_already_refuses_them(name, make, expected):
    assert check_header(source=make(), limits=LIMITS) == expected


def test_it_refuses_the_bomb_header_from_a_few_bytes_with_the_limit_for_a_413():
    data = corpus.png_header_only(800, 240_000)
    refusal = check_header(source=data, limits=LIMITS)
    assert len(data) < 100
    assert refusal.reason == "image is 800 x 240000 px; the limit is 150000 px on a side"
    assert refusal.exceeds_limit and refusal.limit == 150_000


def test_truncated_files_pass_the_header_check_and_fail_the_full_decode():
    truncated = corpus.first_half(corpus.encoded(corpus.noise(64, 64), "JPEG", quality=95))
    assert check_header(source=truncated, limits=LIMITS) == HeaderInfo("JPEG", 64, 64, len(truncated))
    assert normalize(source=truncated, limits=LIMITS).code == "truncated"


def test_it_refuses_files_over_the_byte_limit():
    data = corpus.encoded(corpus.noise(32, 32), "PNG")
    limits = IngestLimits(max_file_bytes=1000)
    expected = Refusal("file_too_large", REASON_FILE_TOO_LARGE.format(size=len(data), limit=1000), 1000)
    assert check_header(source=data, limits=limits) == expected
    assert normalize(source=data, limits=limits) == expected


def test_a_request_may_carry_100_files_but_not_101():
    assert check_file_count(count=100, limits=LIMITS) is None
    assert check_file_count(count=101, limits=LIMITS) == Refusal(
        "too_many_files", REASON_TOO_MANY_FILES.format(count=101, limit=100), 100
    )


def test_it_uses_the_limits_it_is_given():
    data = corpus.encoded(Image.new("RGB", (50, 300)), "PNG")
    limits = IngestLimits(max_image_side=200)
    assert normalize(source=data, limits=limits).reason == side_reason(width=50, height=300, limit=200)
    assert isinstance(normalize(source=data, limits=LIMITS), NormalizedImage)


def test_it_never_hands_eps_to_ghostscript(monkeypatch):
    calls = []
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", lambda *args, **kwargs: calls.append(args))
    monkeypatch.setattr(EpsImagePlugin, "has_ghostscript", lambda: True)
    assert normalize(source=corpus.EPS, limits=LIMITS).code == "postscript"
    assert calls == []


def test_pillows_own_bomb_warning_is_raised_as_an_error():
    # 12 x 12 = 144 px: over a 100 px limit, under Pillow's 2x error threshold, so only a warning.
    data = corpus.encoded(Image.new("L", (12, 12)), "PNG")
    with pixel_limit_armed(IngestLimits(max_image_pixels=100)):
        with pytest.raises(Image.DecompressionBombWarning):
            Image.open(io.BytesIO(data))


def test_a_header_lying_about_frames_cannot_sneak_past_the_sniffer():
    assert sniff(head=b"BM this line starts like a bitmap") == Refusal("not_an_image", REASON_NOT_AN_IMAGE)


# ---------------------------------------------------------------- accepted, with their pixels


def test_png_with_html_appended_is_accepted_and_the_tail_dropped():
    picture = corpus.split_colours(20, 10)
    data = corpus.encoded(picture, "PNG") + corpus.HTML
    result = normalize(source=data, limits=LIMITS)
    stored = pixels_of(result)
    assert stored.tobytes() == picture.tobytes()
    assert b"<html" not in result.data and b"onerror" not in result.data


def test_sixteen_bit_grey_is_scaled_not_clipped():
    result = normalize(source=corpus.grey16_png(32768), limits=LIMITS)
    stored = pixels_of(result)
    assert stored.mode == "L"
    assert_close(stored.getpixel((0, 0)), 128, tolerance=1)


def test_a_sixteen_bit_gradient_keeps_its_whole_range():
    stored = pixels_of(normalize(source=corpus.grey16_gradient_png(), limits=LIMITS))
    row = list(stored.tobytes())
    assert row[0] == 0 and row[-1] == 255
    assert_close(row[128], 128, tolerance=1)
    assert row == sorted(row)


def test_cmyk_jpeg_is_converted_to_the_right_colour():
    stored = pixels_of(normalize(source=corpus.cmyk_jpeg((0, 255, 255, 0)), limits=LIMITS))
    assert stored.mode == "RGB"
    assert_close(stored.getpixel((8, 8)), corpus.RED, tolerance=20)


def test_cmyk_with_black_ink_darkens_multiplicatively():
    stored = pixels_of(normalize(source=corpus.cmyk_jpeg((0, 0, 0, 128)), limits=LIMITS))
    assert_close(stored.getpixel((8, 8)), (127, 127, 127), tolerance=6)


def test_exif_orientation_is_applied_to_the_pixels():
    result = normalize(source=corpus.exif_rotated_jpeg(6), limits=LIMITS)
    stored = pixels_of(result)
    # Stored 40 x 20 red|blue; turned 90 degrees clockwise it is 20 x 40, red on top.
    assert (result.width, result.height) == (20, 40)
    assert_close(stored.getpixel((10, 5)), corpus.RED, tolerance=40)
    assert_close(stored.getpixel((10, 35)), corpus.BLUE, tolerance=40)
    assert "exif" not in stored.info


def test_rgba_is_composited_on_white():
    stored = pixels_of(normalize(source=corpus.rgba_png(), limits=LIMITS))
    assert stored.mode == "RGB"
    assert stored.getpixel((2, 5)) == corpus.WHITE  # fully transparent red: white, not red, not black
    assert_close(stored.getpixel((15, 5)), (127, 127, 127), tolerance=2)  # 50% black over white


def test_palette_with_transparency_is_composited_on_white():
    stored = pixels_of(normalize(source=corpus.palette_with_transparency_png(), limits=LIMITS))
    assert stored.mode == "RGB"
    assert stored.getpixel((2, 5)) == corpus.WHITE  # the transparent index was green
    assert stored.getpixel((7, 5)) == corpus.BLUE


def test_grey_with_alpha_stays_grey_and_goes_on_white():
    stored = pixels_of(normalize(source=corpus.grey_alpha_png(), limits=LIMITS))
    assert (stored.mode, stored.getpixel((0, 0))) == ("L", 255)


def test_single_frame_gif_is_accepted_with_its_transparency_on_white():
    stored = pixels_of(normalize(source=corpus.single_frame_gif_with_transparency(), limits=LIMITS))
    assert stored.getpixel((2, 5)) == corpus.RED
    assert stored.getpixel((7, 5)) == corpus.WHITE


@pytest.mark.parametrize(
    "image_format, options", [("WEBP", {"lossless": True}), ("BMP", {}), ("TIFF", {}), ("PNG", {})]
)
def test_lossless_formats_are_accepted_pixel_for_pixel(image_format, options):
    picture = corpus.split_colours(30, 12)
    result = normalize(source=corpus.encoded(picture, image_format, **options), limits=LIMITS)
    assert result.source_format == image_format
    assert pixels_of(result).tobytes() == picture.tobytes()


def test_one_bit_images_become_grey():
    picture = Image.new("1", (8, 8), 1)
    stored = pixels_of(normalize(source=corpus.encoded(picture, "PNG"), limits=LIMITS))
    assert (stored.mode, stored.getpixel((0, 0))) == ("L", 255)


def test_metadata_is_stripped():
    exif = Image.Exif()
    exif[0x010F] = "Secret Camera Co."  # Make
    jpeg = corpus.encoded(Image.new("RGB", (8, 8), corpus.RED), "JPEG", exif=exif, comment=b"private note")
    result = normalize(source=jpeg, limits=LIMITS)
    assert b"Secret Camera" not in result.data and b"private note" not in result.data
    assert pixels_of(result).info == {}


def test_the_canonical_bytes_are_the_same_whatever_the_upload_format():
    picture = corpus.noise(24, 24)
    from_png = normalize(source=corpus.encoded(picture, "PNG"), limits=LIMITS)
    from_bmp = normalize(source=corpus.encoded(picture, "BMP"), limits=LIMITS)
    assert from_png.sha256 == from_bmp.sha256 == hashlib.sha256(from_png.data).hexdigest()


def test_the_perceptual_hash_finds_re_encodes_and_tells_pictures_apart():
    picture = corpus.split_colours(200, 200).resize((200, 200))
    picture.paste((0, 255, 0), (50, 50, 120, 90))
    other = corpus.split_colours(200, 200, left=corpus.BLUE, right=corpus.RED)
    original = normalize(source=corpus.encoded(picture, "PNG"), limits=LIMITS)
    recompressed = normalize(source=corpus.encoded(picture.resize((150, 150)), "JPEG", quality=60), limits=LIMITS)
    different = normalize(source=corpus.encoded(other, "PNG"), limits=LIMITS)
    assert original.sha256 != recompressed.sha256
    assert hamming_distance(original.perceptual_hash, recompressed.perceptual_hash) <= 6
    assert hamming_distance(original.perceptual_hash, different.perceptual_hash) >= 20


def test_it_reads_from_a_path_and_writes_the_output_atomically(tmp_path):
    source = tmp_path / "upload.bin"
    source.write_bytes(corpus.encoded(corpus.split_colours(10, 4), "BMP"))
    target = tmp_path / "stored.png"
    result = normalize(source=source, limits=LIMITS, output_path=target)
    assert result.data is None and result.path == target
    assert hashlib.sha256(target.read_bytes()).hexdigest() == result.sha256
    assert sorted(os.listdir(tmp_path)) == ["stored.png", "upload.bin"]


def test_it_reads_an_open_file_and_leaves_it_open():
    upload = io.BytesIO(corpus.encoded(corpus.split_colours(10, 4), "PNG"))
    assert check_header(source=upload, limits=LIMITS) == HeaderInfo("PNG", 10, 4, len(upload.getvalue()))
    assert normalize(source=upload, limits=LIMITS).width == 10
    assert not upload.closed


def test_a_refused_file_leaves_no_output(tmp_path):
    target = tmp_path / "stored.png"
    assert isinstance(normalize(source=corpus.SVG, limits=LIMITS, output_path=target), Refusal)
    assert os.listdir(tmp_path) == []


def test_it_refuses_to_run_when_truncated_images_are_allowed(monkeypatch):
    monkeypatch.setattr(images.ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError):
        normalize(source=corpus.encoded(Image.new("L", (4, 4)), "PNG"), limits=LIMITS)
