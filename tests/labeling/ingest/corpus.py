"""The bad and odd files of the ingestion tests, generated in memory (no binary fixtures)."""

import io
import random
import struct
import zlib

from PIL import Image

RED = (255, 0, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)


def encoded(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def noise(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Incompressible pixels, so a file cut in half really loses half its image data."""
    data = random.Random(width * 100_003 + height).randbytes(width * height * len(mode))
    return Image.frombytes(mode, (width, height), data)


def first_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def split_colours(width: int, height: int, left=RED, right=BLUE) -> Image.Image:
    """Left half one colour, right half another: orientation shows in which end each lands."""
    image = Image.new("RGB", (width, height), right)
    image.paste(left, (0, 0, width // 2, height))
    return image


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height in its IHDR but carries a few bytes of data: a bomb header."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def grey16_png(value: int, size=(16, 16)) -> bytes:
    return encoded(Image.new("I;16", size, value), "PNG")


def grey16_gradient_png(width: int = 256) -> bytes:
    """One row from 0 to 65535: scaling maps it onto 0..255, clipping would saturate at x=1."""
    image = Image.new("I;16", (width, 1))
    image.putdata([round(x * 65535 / (width - 1)) for x in range(width)])
    return encoded(image, "PNG")


def cmyk_jpeg(cmyk=(0, 255, 255, 0), size=(16, 16)) -> bytes:
    return encoded(Image.new("CMYK", size, cmyk), "JPEG", quality=95)


def exif_rotated_jpeg(orientation: int = 6) -> bytes:
    """Stored 40 x 20, red left, blue right, tagged 'rotate 90 degrees clockwise to display'."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(split_colours(40, 20), "JPEG", quality=95, exif=exif)


def rgba_png() -> bytes:
    """Left half fully transparent red, right half half-transparent black."""
    image = Image.new("RGBA", (20, 10), (0, 0, 0, 128))
    image.paste((255, 0, 0, 0), (0, 0, 10, 10))
    return encoded(image, "PNG")


def palette_with_transparency_png() -> bytes:
    """Palette image: index 0 (green) is marked transparent, index 1 is blue."""
    image = Image.new("P", (10, 10), 0)
    image.putpalette([0, 255, 0, 0, 0, 255] + [0] * 762)
    image.paste(1, (5, 0, 10, 10))
    return encoded(image, "PNG", transparency=0)


def grey_alpha_png() -> bytes:
    return encoded(Image.new("LA", (8, 8), (0, 0)), "PNG")


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (10, 10), colour) for colour in (RED, BLUE)]  # equal frames would be merged
    return encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


def single_frame_gif_with_transparency() -> bytes:
    """Left half red (index 1), right half index 0, which is marked transparent."""
    image = Image.new("P", (10, 10), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (0, 0, 5, 10))
    return encoded(image, "GIF", transparency=0)


def animated_png() -> bytes:
    frames = [Image.new("RGB", (10, 10), colour) for colour in (RED, BLUE)]
    return encoded(frames[0], "PNG", save_all=True, append_images=frames[1:])


def animated_webp() -> bytes:
    frames = [Image.new("RGB", (10, 10), colour) for colour in (RED, BLUE)]
    return encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)


def multipage_tiff() -> bytes:
    pages = [Image.new("RGB", (10, 10), colour) for colour in (RED, BLUE)]
    return encoded(pages[0], "TIFF", save_all=True, append_images=pages[1:])


SVG = b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- drawn by hand -->\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'
SVG_WITH_BOM_AND_DOCTYPE = (
    b'\xef\xbb\xbf<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n<svg xmlns="http://www.w3.org/2000/svg"/>'
)
EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nnewpath 0 0 moveto 10 10 lineto stroke\n%%EOF\n"
DOS_EPS = b"\xc5\xd0\xd3\xc6" + b"\x00" * 28 + EPS
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!DOCTYPE html>\n<html><body><img src=x onerror=alert(1)></body></html>\n"
TEXT_NAMED_PNG = b"this is a shopping list, not a picture\n"
PSD = b"8BPS\x00\x01" + b"\x00" * 40
FAKE_JPEG = b"\xff\xd8\xff\xe0" + b"this is not really a jpeg" * 4
