"""Sniff, check and normalize uploaded raster images (docs/decisions.md §7), with Pillow only.

Three steps, each usable on its own:
- `sniff(head=...)`: the format from magic bytes, never from the file name or the client's type;
- `check_header(source=..., limits=...)`: size, format and declared dimensions without decoding
  pixels; cheap enough for the upload request itself;
- `normalize(source=..., limits=...)`: the full decode and re-encode to the canonical format,
  run by the Celery worker. It repeats the cheap checks itself, so it never trusts that the
  request ran them.

Every "no" is a `Refusal` whose reason is built from a REASON_* constant below.
"""

import contextlib
import io
import os
import struct
import tempfile
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageCms, ImageFile, ImageOps

from .fingerprints import content_sha256, dhash
from .limits import IngestLimits
from .refusals import IngestRefused, Refusal

# The raster formats we decode. Nothing else reaches Image.open: above all not EPS/PS (Pillow
# hands those to Ghostscript) nor the long tail of plugins no artist sends on purpose.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
FORMAT_LABELS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "BMP": "BMP", "GIF": "GIF", "TIFF": "TIFF"}

# PNG, measured (docs/ingest.md): WebP cannot hold an image over 16,383 px on a side, and strips
# run to tens of thousands; where it fits, lossless WebP is ~35% smaller but ~10x slower to
# encode, and lossy WebP alters the line art we train on. zlib level 6: level 9 saves 3% for 4x time.
CANONICAL_FORMAT = "PNG"
_PNG_COMPRESS_LEVEL = 6

# What the checks read: the bytes, a path, or an open seekable binary file.
ImageSource = bytes | Path | BinaryIO

SNIFF_BYTES = 4096  # enough to see past an XML prolog and comments to an <svg> tag

REASON_EMPTY = "the file is empty (0 bytes)"
REASON_NOT_AN_IMAGE = (
    "the file is not an image; accepted formats are JPEG, PNG, WebP, BMP, single-frame GIF and single-page TIFF"
)
REASON_SVG = "SVG is not accepted (vector files can carry scripts and links); export the image as PNG"
REASON_POSTSCRIPT = "EPS/PostScript is not accepted (reading it runs an external program); export the image as PNG"
REASON_PDF = "PDF is not accepted; export the page as PNG"
REASON_OTHER_FORMAT = "{format} images are not accepted; export the image as PNG"
REASON_TOO_MANY_FILES = "the request has {count} files; the limit is {limit} files per request"
REASON_FILE_TOO_LARGE = "the file is {size} bytes; the limit is {limit} bytes per file"
REASON_SIDE_OVER_LIMIT = "image is {width} x {height} px; the limit is {limit} px on a side"
REASON_PIXELS_OVER_LIMIT = "image is {width} x {height} px ({pixels} pixels); the limit is {limit} pixels"
REASON_BOMB = "a frame of the image declares more pixels than the limit of {limit} pixels"
REASON_NO_PIXELS = "image is {width} x {height} px; it has no pixels"
REASON_ANIMATED = "animated {format} is not accepted; export a single frame as PNG"
REASON_MULTIPAGE_TIFF = "multi-page TIFF is not accepted; save each page as its own file"
REASON_UNREADABLE_HEADER = "the {format} header cannot be read; the file is damaged or is not a {format}"
REASON_TRUNCATED = "the image data is truncated; upload the complete file"
REASON_CORRUPT = "the image data is damaged and cannot be decoded; re-export the file"
REASON_UNSUPPORTED_MODE = "{mode} pixels are not accepted; export the image as 8- or 16-bit RGB or greyscale"

# Magic numbers of formats we name in refusals, so people learn what to export instead.
_OTHER_FORMAT_MAGIC = (
    (b"8BPS", "Photoshop (PSD)"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"qoif", "QOI"),
)
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis")
_BMP_DIB_HEADER_SIZES = (12, 40, 52, 56, 64, 108, 124)


@dataclass(frozen=True)
class HeaderInfo:
    format: str  # one of ACCEPTED_FORMATS, as Pillow names it
    width: int
    height: int
    byte_size: int


@dataclass(frozen=True)
class NormalizedImage:
    format: str  # CANONICAL_FORMAT
    width: int
    height: int
    mode: str  # "RGB" or "L"
    sha256: str  # of the canonical bytes: the exact-duplicate key
    perceptual_hash: str  # 64-bit dHash, 16 hex digits: the near-duplicate key
    byte_size: int
    source_format: str  # what was uploaded, one of ACCEPTED_FORMATS
    data: bytes | None  # the canonical bytes, unless they were written to `path`
    path: Path | None


# ---------------------------------------------------------------- sniff


def sniff(*, head: bytes) -> str | Refusal:
    """The accepted format the leading bytes announce, or a Refusal naming what they are."""
    if not head:
        return Refusal("empty", REASON_EMPTY)
    accepted = _accepted_format_of(head)
    if accepted:
        return accepted
    return _refusal_for_unaccepted(head)


def _accepted_format_of(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if _looks_like_bmp(head):
        return "BMP"
    return None


def _looks_like_bmp(head: bytes) -> bool:
    # "BM" alone also starts plenty of text files; the DIB header size that follows does not.
    if head[:2] != b"BM" or len(head) < 18:
        return False
    return struct.unpack("<I", head[14:18])[0] in _BMP_DIB_HEADER_SIZES


def _refusal_for_unaccepted(head: bytes) -> Refusal:
    if head.startswith(b"%PDF"):
        return Refusal("pdf", REASON_PDF)
    if head.startswith(b"%!") or head.startswith(b"\xc5\xd0\xd3\xc6"):
        return Refusal("postscript", REASON_POSTSCRIPT)
    if _looks_like_svg(head):
        return Refusal("svg", REASON_SVG)
    other = _other_format_name(head)
    if other:
        return Refusal("format_not_accepted", REASON_OTHER_FORMAT.format(format=other))
    return Refusal("not_an_image", REASON_NOT_AN_IMAGE)


def _looks_like_svg(head: bytes) -> bool:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n").lower()
    return text.startswith("<") and "<svg" in text


def _other_format_name(head: bytes) -> str | None:
    for magic, name in _OTHER_FORMAT_MAGIC:
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "HEIF/AVIF"
    return None


# ---------------------------------------------------------------- header check


def check_file_count(*, count: int, limits: IngestLimits) -> Refusal | None:
    """The request-level check on how many files one upload carries (413 with the limit)."""
    if count <= limits.max_files_per_request:
        return None
    reason = REASON_TOO_MANY_FILES.format(count=count, limit=limits.max_files_per_request)
    return Refusal("too_many_files", reason, limits.max_files_per_request)


def check_header(*, source: ImageSource, limits: IngestLimits) -> HeaderInfo | Refusal:
    """File size, sniffed format and declared dimensions, without decoding any pixels.

    Also refuses animated images and multi-page TIFFs, which the header already tells.
    """
    try:
        with _opened(source) as (stream, byte_size):
            return _inspect(stream, byte_size, limits)
    except IngestRefused as refused:
        return refused.refusal


def _inspect(stream: BinaryIO, byte_size: int, limits: IngestLimits) -> HeaderInfo:
    _refuse_oversized_file(byte_size, limits)
    stream.seek(0)
    sniffed = sniff(head=stream.read(SNIFF_BYTES))
    if isinstance(sniffed, Refusal):
        raise IngestRefused(sniffed)
    header = _read_header(stream, sniffed, limits)
    width, height = header.size
    _refuse_bad_dimensions(width, height, limits)
    # Looking for a second frame parses its header, which Pillow bomb-checks too: with our limit.
    with pixel_limit_armed(limits):
        _refuse_many_frames(header, sniffed, limits)
    return HeaderInfo(format=sniffed, width=width, height=height, byte_size=byte_size)


def _refuse_oversized_file(byte_size: int, limits: IngestLimits) -> None:
    if byte_size == 0:
        raise IngestRefused(Refusal("empty", REASON_EMPTY))
    if byte_size > limits.max_file_bytes:
        reason = REASON_FILE_TOO_LARGE.format(size=byte_size, limit=limits.max_file_bytes)
        raise IngestRefused(Refusal("file_too_large", reason, limits.max_file_bytes))


def _read_header(stream: BinaryIO, image_format: str, limits: IngestLimits) -> ImageFile.ImageFile:
    """The lazily opened image: the plugin parses the header, no pixel is decoded.

    The plugin's factory is called directly (it is what Image.open calls for the one format we
    allow) so that our own size checks, with dimensions in the message, run before Pillow's
    anonymous bomb check; `normalize` later opens through Image.open with that check armed.
    """
    Image.init()
    factory, _accept = Image.OPEN[image_format]
    stream.seek(0)
    try:
        return factory(stream, "")
    except Image.DecompressionBombError:
        raise IngestRefused(_bomb_refusal(limits)) from None
    except (SyntaxError, OSError, ValueError, IndexError, TypeError, EOFError, struct.error, zlib.error):
        label = FORMAT_LABELS[image_format]
        reason = REASON_UNREADABLE_HEADER.format(format=label)
        raise IngestRefused(Refusal("unreadable_header", reason)) from None


def _refuse_bad_dimensions(width: int, height: int, limits: IngestLimits) -> None:
    if width <= 0 or height <= 0:
        raise IngestRefused(Refusal("no_pixels", REASON_NO_PIXELS.format(width=width, height=height)))
    if max(width, height) > limits.max_image_side:
        reason = REASON_SIDE_OVER_LIMIT.format(width=width, height=height, limit=limits.max_image_side)
        raise IngestRefused(Refusal("side_over_limit", reason, limits.max_image_side))
    if width * height > limits.max_image_pixels:
        reason = REASON_PIXELS_OVER_LIMIT.format(
            width=width, height=height, pixels=width * height, limit=limits.max_image_pixels
        )
        raise IngestRefused(Refusal("pixels_over_limit", reason, limits.max_image_pixels))


def _refuse_many_frames(header: ImageFile.ImageFile, image_format: str, limits: IngestLimits) -> None:
    try:
        # is_animated only looks for a second frame (no decode), unlike n_frames which walks all.
        many = bool(getattr(header, "is_animated", False))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise IngestRefused(_bomb_refusal(limits)) from None
    except (OSError, ValueError, EOFError, SyntaxError, IndexError, TypeError, struct.error, zlib.error):
        raise IngestRefused(Refusal("corrupt", REASON_CORRUPT)) from None
    if not many or image_format == "JPEG":
        # A JPEG "with frames" is an MPO from a phone camera (previews, depth maps): frame 0
        # is the photo.
        return
    if image_format == "TIFF":
        raise IngestRefused(Refusal("multipage_tiff", REASON_MULTIPAGE_TIFF))
    reason = REASON_ANIMATED.format(format=FORMAT_LABELS[image_format])
    raise IngestRefused(Refusal("animated", reason))


def _bomb_refusal(limits: IngestLimits) -> Refusal:
    return Refusal("pixels_over_limit", REASON_BOMB.format(limit=limits.max_image_pixels), limits.max_image_pixels)


@contextlib.contextmanager
def _opened(source: ImageSource) -> Iterator[tuple[BinaryIO, int]]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield io.BytesIO(source), len(source)
        return
    if hasattr(source, "read"):
        # An open binary file (a Django UploadedFile): used in place, left open for the caller.
        yield source, source.seek(0, io.SEEK_END)
        return
    with open(source, "rb") as stream:
        yield stream, os.fstat(stream.fileno()).st_size


# ---------------------------------------------------------------- normalize


def normalize(
    *, source: ImageSource, limits: IngestLimits, output_path: Path | None = None
) -> NormalizedImage | Refusal:
    """Decode fully, fix orientation and colour, strip metadata, re-encode as CANONICAL_FORMAT.

    With `output_path` the canonical bytes are written there atomically (a temporary file in
    the same folder, then a rename) and `data` is None; otherwise they are returned in `data`.
    """
    try:
        with _opened(source) as (stream, byte_size):
            header = _inspect(stream, byte_size, limits)
            image = _decode(stream, header.format, limits)
        canonical = _canonical_pixels(image)
    except IngestRefused as refused:
        return refused.refusal
    return _encoded(canonical, header, output_path)


def canonical_image(*, source: ImageSource, limits: IngestLimits) -> Image.Image | Refusal:
    """The pixels `normalize` would encode (checked, decoded, upright, sRGB, alpha on white), not
    re-encoded: for a reader that only needs them (model serving predicts on exactly what ingest stores)."""
    try:
        with _opened(source) as (stream, byte_size):
            header = _inspect(stream, byte_size, limits)
            image = _decode(stream, header.format, limits)
        return _canonical_pixels(image)
    except IngestRefused as refused:
        return refused.refusal


def _decode(stream: BinaryIO, image_format: str, limits: IngestLimits) -> Image.Image:
    """A real load(): verify() passes truncated JPEGs and PNGs with HTML appended."""
    stream.seek(0)
    # Truncated files must fail; a caller elsewhere in the process flipping this would let
    # half-grey images in, so refuse to run rather than accept them silently.
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set; ingestion would accept truncated images")
    with pixel_limit_armed(limits):
        try:
            image = Image.open(stream, formats=[image_format])
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise IngestRefused(_bomb_refusal(limits)) from None
        except OSError as error:
            raise IngestRefused(_decode_failure(error)) from None
        except (SyntaxError, ValueError, IndexError, TypeError, EOFError, struct.error, zlib.error):
            raise IngestRefused(Refusal("corrupt", REASON_CORRUPT)) from None
    return image


def _decode_failure(error: OSError) -> Refusal:
    if "truncated" in str(error):
        return Refusal("truncated", REASON_TRUNCATED)
    return Refusal("corrupt", REASON_CORRUPT)


@contextlib.contextmanager
def pixel_limit_armed(limits: IngestLimits) -> Iterator[None]:
    """Pillow's own bomb check set to our pixel limit, its warning raised as an error."""
    # MAX_IMAGE_PIXELS is process-wide; every caller passes the same settings-built limits, so
    # setting it per call is idempotent. catch_warnings is not thread-safe on Python 3.11: run
    # normalization in worker processes (Celery prefork), not threads.
    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def _canonical_pixels(image: Image.Image) -> Image.Image:
    upright = _apply_exif_orientation(image)
    canonical = _to_canonical_mode(upright)
    # Metadata (EXIF with GPS, text chunks, ICC already applied) does not survive re-encoding:
    # the PNG writer only writes what is left in .info.
    canonical.info = {}
    return canonical


def _apply_exif_orientation(image: Image.Image) -> Image.Image:
    try:
        # in_place: without an orientation tag this costs nothing, where the default copies the
        # whole decoded strip (144 MB for 800 x 60,000).
        ImageOps.exif_transpose(image, in_place=True)
        return image
    except (SyntaxError, ValueError, KeyError, TypeError, OSError, struct.error):
        # Malformed EXIF: the pixels decoded fine, so keep them as stored.
        return image


def _to_canonical_mode(image: Image.Image) -> Image.Image:
    """RGB or L: alpha composited on white, 16 bits scaled, CMYK and ICC colours converted to sRGB."""
    mode = image.mode
    if mode in ("RGBA", "RGBa", "LA", "La", "PA") or _has_transparent_colour(image):
        return _composited_on_white(image)
    if mode == "L":
        return image
    if mode == "1":
        return image.convert("L")
    if mode == "P":
        return image.convert("RGB")
    if mode.startswith("I;16") or mode == "I":
        return _sixteen_bit_grey_to_eight(image)
    if mode in ("RGB", "CMYK"):
        return _to_srgb(image)
    if mode in ("YCbCr", "RGBX"):
        return image.convert("RGB")
    raise IngestRefused(Refusal("unsupported_mode", REASON_UNSUPPORTED_MODE.format(mode=mode)))


def _has_transparent_colour(image: Image.Image) -> bool:
    # tRNS-style transparency: one palette index or one grey/RGB value marks transparent pixels.
    return image.mode in ("1", "L", "P", "RGB") and "transparency" in image.info


def _composited_on_white(image: Image.Image) -> Image.Image:
    greyscale = image.mode in ("LA", "La") or (image.mode == "L" and "transparency" in image.info)
    if greyscale:
        with_alpha, flat_mode, white = image.convert("LA"), "L", 255
    else:
        with_alpha, flat_mode, white = image.convert("RGBA"), "RGB", (255, 255, 255)
    background = Image.new(flat_mode, image.size, white)
    background.paste(with_alpha.convert(flat_mode), mask=with_alpha.getchannel("A"))
    return background


def _sixteen_bit_grey_to_eight(image: Image.Image) -> Image.Image:
    # Pillow's convert("L") clips 16-bit values at 255, so mid-grey 32768 would turn white:
    # scale 0..65535 onto 0..255 instead (divide by 257, rounded).
    wide = image.convert("I")
    low, high = wide.getextrema()
    if low < 0 or high > 65535:
        raise IngestRefused(Refusal("unsupported_mode", REASON_UNSUPPORTED_MODE.format(mode="32-bit integer")))
    return wide.point(lambda value: value * (1 / 257) + 0.5).convert("L")


_SRGB = ImageCms.createProfile("sRGB")


def _to_srgb(image: Image.Image) -> Image.Image:
    """Apply an embedded ICC profile (it is about to be stripped), else Pillow's conversion.

    Without a profile Pillow's CMYK->RGB is the multiplicative (255-C)(255-K)/255, and Adobe's
    inverted CMYK JPEGs are already un-inverted by the decoder.
    """
    converted = _through_icc_profile(image)
    if converted is not None:
        return converted
    return image if image.mode == "RGB" else image.convert("RGB")


def _through_icc_profile(image: Image.Image) -> Image.Image | None:
    icc = image.info.get("icc_profile")
    if not icc:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if image.mode == "RGB" and ImageCms.getProfileDescription(profile).strip().startswith("sRGB"):
            return None  # already sRGB: skip a no-op transform over a whole strip
        return ImageCms.profileToProfile(image, profile, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None  # a broken profile is ignored, not fatal: the pixels are still there


def _encoded(image: Image.Image, header: HeaderInfo, output_path: Path | None) -> NormalizedImage:
    buffer = io.BytesIO()
    image.save(buffer, CANONICAL_FORMAT, compress_level=_PNG_COMPRESS_LEVEL)
    data = buffer.getvalue()
    if output_path is not None:
        write_atomically(path=output_path, data=data)
    return NormalizedImage(
        format=CANONICAL_FORMAT,
        width=image.width,
        height=image.height,
        mode=image.mode,
        sha256=content_sha256(data),
        perceptual_hash=dhash(image),
        byte_size=len(data),
        source_format=header.format,
        data=None if output_path is not None else data,
        path=output_path,
    )


def write_atomically(*, path: Path, data: bytes) -> None:
    """Readers see the old file or the whole new one, never a half-written one."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
