"""Content and perceptual fingerprints of normalized images.

The perceptual hash is a 64-bit difference hash (dHash) written here on Pillow rather than
taken from `imagehash`: that package pulls numpy, scipy and PyWavelets into every web and
worker process for about fifteen lines of arithmetic. dHash finds re-encodes, rescales and
light edits of the same picture, which is what near-duplicate flagging within a dataset needs.
"""

import hashlib

from PIL import Image

DHASH_BITS = 64
_DHASH_COLUMNS = 9  # 9 columns give 8 left-right comparisons per row
_DHASH_ROWS = 8


def content_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dhash(image: Image.Image) -> str:
    """64-bit difference hash as 16 hex digits: one bit per 'left pixel brighter than right'."""
    # Shrink first, then go grey: converting a whole strip to grey first would allocate a
    # second full-size copy. reducing_gap lets Pillow box-reduce before the Lanczos pass.
    small = image.resize((_DHASH_COLUMNS, _DHASH_ROWS), Image.Resampling.LANCZOS, reducing_gap=3.0).convert("L")
    pixels = small.tobytes()  # mode L: one byte per pixel, row by row
    bits = 0
    for row in range(_DHASH_ROWS):
        for column in range(_DHASH_COLUMNS - 1):
            left = pixels[row * _DHASH_COLUMNS + column]
            right = pixels[row * _DHASH_COLUMNS + column + 1]
            bits = (bits << 1) | (left > right)
    return f"{bits:016x}"


def hamming_distance(first: str, second: str) -> int:
    """Differing bits between two dHash hex strings; 0-10 of 64 usually means the same picture."""
    return bin(int(first, 16) ^ int(second, 16)).count("1")
