"""The request side of an import: cheap checks at once, bytes staged, an ImportJob, a task on commit.

docs/decisions.md §7: the request checks count, size, sniffed format and header dimensions and refuses the
whole request (400, or 413 with the limit) when a file fails them; everything else (full decode,
normalization, dedup, tiles) runs in the worker (services/ingest.py) and is reported per file on
the import job.
"""

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction

from labeling import storage
from labeling.ingest.images import check_file_count, check_header
from labeling.ingest.names import display_name, is_os_junk
from labeling.ingest.refusals import Refusal
from labeling.ingest.remote import check_url
from labeling.models import Dataset, ImportFile, ImportJob, ImportKind
from portal.errors import Invalid

IMPORT_TASK = "labeling.import_run"
ARCHIVE_STAGING_NAME = "archive"

REASON_ARCHIVE_TOO_LARGE = "the archive is {size} bytes; the limit is {limit} bytes"
NO_FILES = "Send at least one file in the `files` field."
ONLY_OS_JUNK = (
    "Nothing to import: the {count} file(s) sent are ones the operating system makes (.DS_Store, Thumbs.db, ._*), "
    "not images."
)
NO_SOURCE = "Send exactly one of: an `archive` file, a `url`, or a `folder`."
FOLDER_IMPORT_OFF = "Server folder import is not configured (ATELIER_DATASET_IMPORT_ROOT)."
FOLDER_ADMINS_ONLY = "Only site admins import from server folders."
FOLDER_OUTSIDE_ROOT = "The folder must be a folder under the configured import root."


@dataclass(frozen=True)
class RefusedFile:
    name: str
    refusal: Refusal


class ImportRequestRefused(Invalid):
    """The request is refused as a whole: a 413 with the `limit` when a limit was exceeded, else a 400."""

    def __init__(self, *, field: str, refused: list[RefusedFile]):
        messages = [f"{r.name}: {r.refusal.reason}" if r.name else r.refusal.reason for r in refused]
        limit = next((r.refusal.limit for r in refused if r.refusal.exceeds_limit), None)
        super().__init__(
            {field: messages},
            status=413 if limit is not None else 400,
            detail="; ".join(messages),
            **({"limit": limit} if limit is not None else {}),
        )


def upload_import_create(
    *, dataset: Dataset, user, files: list, as_episode: bool = False, episode_name: str = ""
) -> ImportJob:
    """Many files from the browser or CLI (multipart), one ImportFile each, in the order sent.

    Files the operating system made (a folder's `.DS_Store`, `Thumbs.db`, `._*`) are counted as
    ignored and never stored, as in archives: a browser's folder upload sends them too.
    """
    junk = [f for f in files if is_os_junk(path=f.name or "")]
    files = [f for f in files if not is_os_junk(path=f.name or "")]
    _refuse_bad_uploads(files, ignored=len(junk))
    with transaction.atomic():
        job = _job_create(
            dataset=dataset,
            user=user,
            kind=ImportKind.UPLOAD,
            as_episode=as_episode,
            episode_name=episode_name,
            expanded=True,
            total=len(files),
            ignored=len(junk),
        )
        with _staging_removed_on_error(job):
            rows = [_file_stage(job=job, position=i, uploaded=f) for i, f in enumerate(files)]
            ImportFile.objects.bulk_create(rows)
    return job


def archive_import_create(
    *, dataset: Dataset, user, archive, as_episode: bool = False, episode_name: str = ""
) -> ImportJob:
    """A zip or tar; its entries are listed and checked by the worker (labeling.ingest.archives)."""
    limit = settings.INGEST_LIMITS.max_archive_expanded_bytes
    if archive.size > limit:
        reason = REASON_ARCHIVE_TOO_LARGE.format(size=archive.size, limit=limit)
        raise ImportRequestRefused(
            field="archive", refused=[RefusedFile(archive.name, Refusal("too_large", reason, limit))]
        )
    with transaction.atomic():
        job = _job_create(
            dataset=dataset,
            user=user,
            kind=ImportKind.ARCHIVE,
            as_episode=as_episode,
            episode_name=episode_name,
            source_detail=display_name(original=archive.name or "archive"),
        )
        with _staging_removed_on_error(job):
            _bytes_stage(target=_staging(job) / ARCHIVE_STAGING_NAME, uploaded=archive)
    return job


def url_import_create(*, dataset: Dataset, user, url: str) -> ImportJob:
    """One image by URL; the address is checked now and again (pinned) when the worker fetches it."""
    refusal = check_url(url=url)
    if refusal is not None:
        raise ImportRequestRefused(field="url", refused=[RefusedFile("", refusal)])
    with transaction.atomic():
        return _job_create(dataset=dataset, user=user, kind=ImportKind.URL, source_detail=url)


def folder_import_create(
    *, dataset: Dataset, user, folder: str, as_episode: bool = False, episode_name: str = ""
) -> ImportJob:
    """A folder on the server, under DATASET_IMPORT_ROOT, for site admins only."""
    folder_path = folder_resolve(user=user, folder=folder)
    with transaction.atomic():
        return _job_create(
            dataset=dataset,
            user=user,
            kind=ImportKind.FOLDER,
            as_episode=as_episode,
            episode_name=episode_name,
            source_detail=str(folder_path),
        )


def folder_resolve(*, user, folder: str) -> Path:
    if not user.is_staff:
        raise PermissionDenied(FOLDER_ADMINS_ONLY)
    if not settings.DATASET_IMPORT_ROOT:
        raise ImportRequestRefused(
            field="folder", refused=[RefusedFile("", Refusal("not_configured", FOLDER_IMPORT_OFF))]
        )
    root = Path(settings.DATASET_IMPORT_ROOT).resolve()
    # resolve() follows symlinks and `..`, so the containment check sees the real target.
    candidate = (root / folder).resolve()
    if not candidate.is_dir() or not candidate.is_relative_to(root):
        raise ImportRequestRefused(
            field="folder", refused=[RefusedFile("", Refusal("outside_root", FOLDER_OUTSIDE_ROOT))]
        )
    return candidate


def import_enqueue(*, job: ImportJob) -> None:
    """Send the task after commit, so the worker finds the rows (STYLE: enqueue on commit)."""
    from portal.celery import app

    transaction.on_commit(lambda: app.send_task(IMPORT_TASK, kwargs={"import_job_id": job.pk}))


def _refuse_bad_uploads(files: list, *, ignored: int = 0) -> None:
    if not files:
        reason = ONLY_OS_JUNK.format(count=ignored) if ignored else NO_FILES
        raise ImportRequestRefused(field="files", refused=[RefusedFile("", Refusal("no_files", reason))])
    limits = settings.INGEST_LIMITS
    too_many = check_file_count(count=len(files), limits=limits)
    if too_many is not None:
        raise ImportRequestRefused(field="files", refused=[RefusedFile("", too_many)])
    refused = []
    for uploaded in files:
        header = check_header(source=uploaded, limits=limits)
        if isinstance(header, Refusal):
            refused.append(RefusedFile(display_name(original=uploaded.name or ""), header))
    if refused:
        raise ImportRequestRefused(field="files", refused=refused)


def _job_create(*, dataset: Dataset, user, kind: str, expanded: bool = False, total: int = 0, **fields) -> ImportJob:
    job = ImportJob.objects.create(
        dataset=dataset, kind=kind, created_by=user, expanded=expanded, total=total, **fields
    )
    storage.ensure_directories(dataset_id=dataset.pk)
    _staging(job).mkdir(parents=True, exist_ok=True)
    import_enqueue(job=job)
    return job


def _staging(job: ImportJob) -> Path:
    return storage.staging_directory(dataset_id=job.dataset_id, job_id=job.pk)


@contextlib.contextmanager
def _staging_removed_on_error(job: ImportJob):
    """The rows roll back with the transaction; the staged bytes must go with them."""
    try:
        yield
    except BaseException:
        storage.staging_remove(dataset_id=job.dataset_id, job_id=job.pk)
        raise


def _file_stage(*, job: ImportJob, position: int, uploaded) -> ImportFile:
    staging_name = f"{position:05d}"
    _bytes_stage(target=_staging(job) / staging_name, uploaded=uploaded)
    return ImportFile(
        job=job, position=position, staging_name=staging_name, display_name=display_name(original=uploaded.name or "")
    )


def _bytes_stage(*, target: Path, uploaded) -> None:
    uploaded.seek(0)
    with open(target, "wb") as out:
        shutil.copyfileobj(uploaded, out, length=1024 * 1024)
