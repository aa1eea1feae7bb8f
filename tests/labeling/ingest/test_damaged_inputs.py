"""Thousands of damaged images and archives: each is accepted or refused, none raises.

Seeded random damage (truncation, flipped bytes) of valid files of every accepted kind; the
seed is fixed so a failure reproduces. This found an IndexError in Pillow's GIF frame seek and
zipfile's NotImplementedError on a mangled version field, both now refusals.
"""

import io
import random
import zipfile

import pytest
from PIL import Image

from labeling.ingest.archives import ArchiveFile, ArchiveRefused, EntryRefusal, archive_entries
from labeling.ingest.images import HeaderInfo, NormalizedImage, check_header, normalize
from labeling.ingest.limits import IngestLimits
from labeling.ingest.refusals import Refusal

from . import corpus
from .test_archives import tar_member, tar_of, zip_of

LIMITS = IngestLimits()
# Pillow warns about the damage it reads past (bad TIFF tags, corrupt EXIF): expected here.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def damaged(samples: list[bytes], count: int, seed: int):
    rng = random.Random(seed)
    for _ in range(count):
        data = bytearray(rng.choice(samples))
        if rng.random() < 0.3:
            yield bytes(data[: rng.randrange(len(data))])
            continue
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        yield bytes(data)


def image_samples() -> list[bytes]:
    picture = corpus.noise(40, 30)
    return [
        corpus.encoded(picture, "PNG"),
        corpus.encoded(picture, "JPEG"),
        corpus.encoded(picture.convert("P"), "GIF"),
        corpus.encoded(picture, "TIFF"),
        corpus.encoded(picture, "TIFF", compression="tiff_lzw"),
        corpus.encoded(picture, "BMP"),
        corpus.encoded(picture, "WEBP"),
        corpus.encoded(picture, "WEBP", lossless=True),
        corpus.encoded(Image.new("I;16", (20, 20), 30000), "PNG"),
        corpus.animated_gif(),
        corpus.multipage_tiff(),
        corpus.exif_rotated_jpeg(),
    ]


def test_damaged_images_are_accepted_or_refused_never_raise():
    outcomes = {"accepted": 0, "refused": 0}
    for data in damaged(image_samples(), count=3000, seed=7):
        assert isinstance(check_header(source=data, limits=LIMITS), (HeaderInfo, Refusal))
        result = normalize(source=data, limits=LIMITS)
        assert isinstance(result, (NormalizedImage, Refusal))
        outcomes["accepted" if isinstance(result, NormalizedImage) else "refused"] += 1
    assert outcomes["accepted"] > 100 and outcomes["refused"] > 1000, outcomes


def test_damaged_archives_are_read_or_refused_never_raise():
    samples = [
        zip_of(("a.png", b"x" * 300), ("b/c.png", b"y" * 200)).getvalue(),
        zip_of(("a.png", b"x" * 300), compression=zipfile.ZIP_STORED).getvalue(),
        tar_of((tar_member("a.png"), b"x" * 300), (tar_member("b.png"), b"y" * 100)).getvalue(),
        tar_of((tar_member("a.png"), b"x" * 300), mode="w:gz").getvalue(),
        tar_of((tar_member("a.png"), b"x" * 300), mode="w:bz2").getvalue(),
        tar_of((tar_member("a.png"), b"x" * 300), mode="w:xz").getvalue(),
    ]
    for data in damaged(samples, count=5000, seed=3):
        try:
            entries = list(archive_entries(source=io.BytesIO(data), limits=LIMITS))
        except ArchiveRefused as refused:
            assert isinstance(refused.refusal, Refusal)
            continue
        assert all(isinstance(entry, (ArchiveFile, EntryRefusal)) for entry in entries)
