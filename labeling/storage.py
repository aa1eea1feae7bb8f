"""Where a dataset's files live: MEDIA_ROOT/datasets/<dataset id>/...

    images/<sha256>.png                     the canonical stored image
    originals/<sha256>.<ext>                the uploaded bytes, served only as a download
    tiles/<sha256>/<sha256>.dzi + _files/   the Deep Zoom pyramid and thumbnail.jpg
    staging/<import job id>/<position>      uploaded bytes waiting for the worker
    exports/<export job id>.zip             a finished export (exports/<id>.work/ while it is written)

Every name is built here from ids and hashes; a client's file name never becomes a path.
"""

import shutil
from pathlib import Path

from django.conf import settings

ORIGINAL_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp", "GIF": ".gif", "TIFF": ".tif"}


def dataset_root(*, dataset_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "datasets" / str(int(dataset_id))


def image_path(*, dataset_id: int, sha256: str) -> Path:
    return dataset_root(dataset_id=dataset_id) / "images" / f"{sha256}.png"


def original_path(*, dataset_id: int, sha256: str, source_format: str) -> Path:
    return dataset_root(dataset_id=dataset_id) / "originals" / f"{sha256}{ORIGINAL_EXTENSIONS[source_format]}"


def tiles_parent(*, dataset_id: int) -> Path:
    return dataset_root(dataset_id=dataset_id) / "tiles"


def tiles_directory(*, dataset_id: int, sha256: str) -> Path:
    return tiles_parent(dataset_id=dataset_id) / sha256


def staging_directory(*, dataset_id: int, job_id: int) -> Path:
    return dataset_root(dataset_id=dataset_id) / "staging" / str(int(job_id))


def staging_remove(*, dataset_id: int, job_id: int) -> None:
    shutil.rmtree(staging_directory(dataset_id=dataset_id, job_id=job_id), ignore_errors=True)


def ensure_directories(*, dataset_id: int) -> None:
    root = dataset_root(dataset_id=dataset_id)
    for sub in ("images", "originals", "tiles", "staging"):
        (root / sub).mkdir(parents=True, exist_ok=True)


def export_path(*, dataset_id: int, job_id: int) -> Path:
    return dataset_root(dataset_id=dataset_id) / "exports" / f"{int(job_id)}.zip"


def export_workdir(*, dataset_id: int, job_id: int) -> Path:
    return dataset_root(dataset_id=dataset_id) / "exports" / f"{int(job_id)}.work"
