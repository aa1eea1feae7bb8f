"""Shared helpers for the dataset tests: a dataset of team A, uploads, and what lies on disk."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def png_bytes(width: int = 64, height: int = 96, colour=(200, 30, 30), seed: int = 0) -> bytes:
    """A distinct PNG per (colour, seed): a diagonal line at `seed` keeps the dHash apart too."""
    image = Image.new("RGB", (width, height), colour)
    for y in range(height):
        image.putpixel(((y * (seed + 1)) % width, y), (0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def upload(name: str, data: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def dataset_files(dataset_id: int) -> list[str]:
    """Every file stored for a dataset, relative to its root (staging included)."""
    root = Path(settings.MEDIA_ROOT) / "datasets" / str(dataset_id)
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def stored_files(dataset_id: int) -> list[str]:
    """Stored images and originals (tiles counted per image by its .dzi)."""
    return [f for f in dataset_files(dataset_id) if f.startswith(("images/", "originals/")) or f.endswith(".dzi")]


@pytest.fixture
def dataset(team_a, researcher):
    from labeling.services.datasets import dataset_create

    return dataset_create(user=researcher, team_id=team_a.pk, name="Strips")


@pytest.fixture(autouse=True)
def media_root(request, settings, tmp_path):
    """Each in-process test stores into its own MEDIA_ROOT; tests with the live stack share the
    workers' MEDIA_ROOT (from the environment), emptied of datasets first."""
    if "live_stack" in request.fixturenames:
        import shutil

        shutil.rmtree(Path(settings.MEDIA_ROOT) / "datasets", ignore_errors=True)
        return Path(settings.MEDIA_ROOT)
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
