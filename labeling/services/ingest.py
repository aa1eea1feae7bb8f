"""The worker side of an import: expand the source, then normalize and store each file.

`import_job_run` is idempotent: Celery delivers at least once (acks_late), so a re-delivery
skips files that already have an outcome, and stored paths are named by content hash, so a
file written by a delivery that died before its commit is simply written (or found) again.

Per file, the order is: normalize into memory, check for an exact duplicate, write the stored
image, the original and the tiles, then one transaction records the slice, the item, the
file's outcome, the job's counts and a realtime event. If that transaction fails, the files
this call created are removed: a file that fails leaves no row and no file; the rest go on.
"""

import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from labeling import storage
from labeling.ingest.archives import ArchiveFile, EntryRefusal, archive_entries
from labeling.ingest.fingerprints import hamming_distance
from labeling.ingest.images import REASON_FILE_TOO_LARGE, NormalizedImage, normalize, write_atomically
from labeling.ingest.names import display_name, is_os_junk
from labeling.ingest.refusals import IngestRefused, Refusal
from labeling.ingest.remote import fetch_url
from labeling.ingest.tiles import write_deep_zoom
from labeling.models import (
    IMPORT_FINISHED_STATES,
    Dataset,
    FileOutcome,
    ImportFile,
    ImportJob,
    ImportKind,
    ImportState,
    Item,
    ItemKind,
    Slice,
    SliceSource,
)
from labeling.services.imports import ARCHIVE_STAGING_NAME
from portal.realtime.services import event_publish

log = logging.getLogger(__name__)

REASON_DUPLICATE = "an identical image is already in this dataset"
REASON_PROCESSING_FAILED = "the file could not be processed (server error); it was not stored"
REASON_STAGED_BYTES_MISSING = "the uploaded bytes are no longer on the server; upload the file again"
REASON_FOLDER_ENTRY_NOT_FILE = "not a regular file (links and special files are not imported)"
REASON_NO_IMAGES = "nothing to import: no file in it is an image (PNG, JPEG, WebP, GIF, TIFF or BMP)"
# Files of an archive or folder that are plainly not images (notes, PDFs): skipped, not refused. An image in a
# format Atelier does not take (SVG, HEIC, ...) stays refused: its owner expected it to be imported.
NOT_AN_IMAGE_CODES = frozenset({"not_an_image", "pdf", "postscript"})
SKIPPING_KINDS = (ImportKind.ARCHIVE, ImportKind.FOLDER)
_IGNORED = object()  # what an expander yields for OS junk: counted, never a row
EVENT_FILE = "labeling.import_file"
EVENT_JOB = "labeling.import_job"

# Pillow keeps its bomb limit in a process-wide global and the ingest core turns its warning into
# an error with warnings.catch_warnings(), which is not thread-safe. The node worker runs tasks in
# a thread pool (docs/decisions.md §6: runner slots), so image work takes this lock: one decode at a time
# per worker process. The work is CPU-bound under the GIL anyway, so little is lost.
_PILLOW_LOCK = threading.Lock()

SOURCE_OF_KIND = {
    ImportKind.UPLOAD: SliceSource.UPLOAD,
    ImportKind.ARCHIVE: SliceSource.ARCHIVE,
    ImportKind.URL: SliceSource.URL,
    ImportKind.FOLDER: SliceSource.FOLDER,
}


class _RaceLost(Exception):
    """Another delivery recorded this file's outcome first."""


@dataclass
class _NearIndex:
    """(slice id, dHash) of the dataset, loaded once per run and extended as files are accepted."""

    entries: list[tuple[int, str]]

    def nearest(self, perceptual_hash: str) -> int | None:
        bits = settings.DATASET_NEAR_DUPLICATE_BITS
        best = min(((hamming_distance(perceptual_hash, h), sid) for sid, h in self.entries), default=None)
        return best[1] if best is not None and best[0] <= bits else None


def import_job_run(*, import_job_id: int) -> None:
    job = ImportJob.objects.filter(pk=import_job_id).select_related("dataset").first()
    if job is None or job.state in IMPORT_FINISHED_STATES:
        return  # deleted, or a re-delivery of finished work
    ImportJob.objects.filter(pk=job.pk, state=ImportState.QUEUED).update(
        state=ImportState.RUNNING, started_at=timezone.now()
    )
    if not job.expanded and not _job_expand(job):
        return
    near = _NearIndex(list(Slice.objects.filter(dataset_id=job.dataset_id).values_list("id", "perceptual_hash")))
    for import_file in job.files.filter(outcome=FileOutcome.PENDING).order_by("position"):
        _file_import(job=job, import_file=import_file, near=near)
    _job_finish(job)


# ---------------------------------------------------------------- expanding a source into files


def _job_expand(job: ImportJob) -> bool:
    """List an archive's, folder's or URL's files as ImportFiles (staged); False if the job failed."""
    expanders = {ImportKind.ARCHIVE: _archive_files, ImportKind.FOLDER: _folder_files, ImportKind.URL: _url_files}
    staging = storage.staging_directory(dataset_id=job.dataset_id, job_id=job.pk)
    staging.mkdir(parents=True, exist_ok=True)
    try:
        found = list(expanders[job.kind](job, staging))
    except IngestRefused as refused:  # the source as a whole: an archive bomb, a URL that cannot be fetched
        _job_fail(job, refused.refusal.reason)
        return False
    rows = [row for row in found if row is not _IGNORED]
    with transaction.atomic():
        claimed = ImportJob.objects.filter(pk=job.pk, expanded=False).update(
            expanded=True, total=len(rows), ignored=len(found) - len(rows)
        )
        if claimed:
            ImportFile.objects.bulk_create(rows)
    job.refresh_from_db()
    return True


def _archive_files(job: ImportJob, staging: Path):
    archive = staging / ARCHIVE_STAGING_NAME
    for position, entry in enumerate(archive_entries(source=archive, limits=settings.INGEST_LIMITS)):
        if isinstance(entry, ArchiveFile):
            yield _staged_row(job, staging, position, entry.display_name, entry.data)
        elif isinstance(entry, EntryRefusal):
            yield _refused_row(job, position, entry.display_name, entry.refusal)
        else:
            yield _IGNORED


def _folder_files(job: ImportJob, staging: Path):
    limits = settings.INGEST_LIMITS
    entries = sorted(os.scandir(job.source_detail), key=lambda e: e.name)[: limits.max_archive_entries]
    for position, entry in enumerate(entries):
        name = display_name(original=entry.name)
        if is_os_junk(path=entry.name):
            yield _IGNORED
        elif not entry.is_file(follow_symlinks=False):
            yield _refused_row(job, position, name, Refusal("not_a_file", REASON_FOLDER_ENTRY_NOT_FILE))
        elif entry.stat(follow_symlinks=False).st_size > limits.max_file_bytes:
            reason = REASON_FILE_TOO_LARGE.format(size=entry.stat().st_size, limit=limits.max_file_bytes)
            yield _refused_row(job, position, name, Refusal("file_too_large", reason, limits.max_file_bytes))
        else:
            shutil.copyfile(entry.path, staging / f"{position:05d}", follow_symlinks=False)
            yield ImportFile(job=job, position=position, display_name=name, staging_name=f"{position:05d}")


def _url_files(job: ImportJob, staging: Path):
    fetched = fetch_url(url=job.source_detail, limits=settings.INGEST_LIMITS)
    if isinstance(fetched, Refusal):
        raise IngestRefused(fetched)
    yield _staged_row(job, staging, 0, display_name(original=fetched.name or "image"), fetched.data)


def _staged_row(job: ImportJob, staging: Path, position: int, name: str, data: bytes) -> ImportFile:
    write_atomically(path=staging / f"{position:05d}", data=data)
    return ImportFile(job=job, position=position, display_name=name, staging_name=f"{position:05d}")


def _refused_row(job: ImportJob, position: int, name: str, refusal: Refusal) -> ImportFile:
    return ImportFile(
        job=job,
        position=position,
        display_name=name,
        outcome=FileOutcome.REFUSED,
        code=refusal.code,
        reason=refusal.reason,
    )


# ---------------------------------------------------------------- one file


def _file_import(*, job: ImportJob, import_file: ImportFile, near: _NearIndex) -> None:
    staged = storage.staging_directory(dataset_id=job.dataset_id, job_id=job.pk) / import_file.staging_name
    if not import_file.staging_name or not staged.is_file():
        _outcome_record(
            job, import_file, outcome=FileOutcome.REFUSED, code="missing", reason=REASON_STAGED_BYTES_MISSING
        )
        return
    try:
        _file_store(job=job, import_file=import_file, staged=staged, near=near)
    except _RaceLost:
        pass
    except Exception:
        log.exception("import %s: file %s failed", job.pk, import_file.position)
        _outcome_record(
            job, import_file, outcome=FileOutcome.REFUSED, code="processing_failed", reason=REASON_PROCESSING_FAILED
        )
    staged.unlink(missing_ok=True)


def _file_store(*, job: ImportJob, import_file: ImportFile, staged: Path, near: _NearIndex) -> None:
    with _PILLOW_LOCK:
        result = normalize(source=staged, limits=settings.INGEST_LIMITS)
    if isinstance(result, Refusal):
        skipped = result.code in NOT_AN_IMAGE_CODES and job.kind in SKIPPING_KINDS
        outcome = FileOutcome.SKIPPED if skipped else FileOutcome.REFUSED
        _outcome_record(job, import_file, outcome=outcome, code=result.code, reason=result.reason)
        return
    existing = Slice.objects.filter(dataset_id=job.dataset_id, sha256=result.sha256).first()
    if existing is not None:
        _outcome_record(
            job,
            import_file,
            outcome=FileOutcome.DUPLICATE,
            code="duplicate",
            reason=REASON_DUPLICATE,
            duplicate_of=existing,
        )
        return
    created = _stored_files_write(dataset_id=job.dataset_id, result=result, staged=staged)
    try:
        with transaction.atomic():
            new_slice = _slice_create(
                job=job,
                import_file=import_file,
                result=result,
                staged=staged,
                near_id=near.nearest(result.perceptual_hash),
            )
    except BaseException:
        _paths_remove(created)
        raise
    near.entries.append((new_slice.pk, new_slice.perceptual_hash))


def _stored_files_write(*, dataset_id: int, result: NormalizedImage, staged: Path) -> list[Path]:
    """Write what is not there yet; return only what this call created (the rest is another row's)."""
    created: list[Path] = []
    image = storage.image_path(dataset_id=dataset_id, sha256=result.sha256)
    original = storage.original_path(dataset_id=dataset_id, sha256=result.sha256, source_format=result.source_format)
    tiles = storage.tiles_directory(dataset_id=dataset_id, sha256=result.sha256)
    try:
        if not image.exists():
            write_atomically(path=image, data=result.data)
            created.append(image)
        if not original.exists():
            _copy_atomically(staged, original)
            created.append(original)
        if not tiles.exists():
            with _PILLOW_LOCK:
                write_deep_zoom(
                    image_path=image, output_dir=tiles.parent, name=result.sha256, limits=settings.INGEST_LIMITS
                )
            created.append(tiles)
    except BaseException:
        _paths_remove(created)
        raise
    return created


def _slice_create(
    *, job: ImportJob, import_file: ImportFile, result: NormalizedImage, staged: Path, near_id: int | None
) -> Slice:
    item = _item_for_file(job=job, import_file=import_file, result=result)
    thumb_w, thumb_h = _thumbnail_size(job.dataset_id, result.sha256)
    new_slice = Slice.objects.create(
        dataset_id=job.dataset_id,
        item=item,
        position=item.slice_count,
        offset_y=item.height,
        width=result.width,
        height=result.height,
        sha256=result.sha256,
        perceptual_hash=result.perceptual_hash,
        near_duplicate_of_id=near_id,
        byte_size=result.byte_size,
        source=SOURCE_OF_KIND[job.kind],
        source_format=result.source_format,
        source_detail=_source_detail(job, import_file),
        original_name=import_file.display_name,
        original_byte_size=staged.stat().st_size,
        uploader_id=job.created_by_id,
        thumbnail_width=thumb_w,
        thumbnail_height=thumb_h,
    )
    Item.objects.filter(pk=item.pk).update(slice_count=F("slice_count") + 1, height=F("height") + result.height)
    Item.objects.filter(pk=item.pk, width__lt=result.width).update(width=result.width)
    if near_id is not None:
        Item.objects.filter(pk=item.pk).update(near_duplicate=True)
    _outcome_record(job, import_file, outcome=FileOutcome.ACCEPTED, new_slice=new_slice, near_duplicate_of_id=near_id)
    return new_slice


def _item_for_file(*, job: ImportJob, import_file: ImportFile, result: NormalizedImage) -> Item:
    if not job.as_episode:
        return _item_create(job, ItemKind.IMAGE, import_file.display_name)
    # The episode item is made by the first accepted slice; the row lock orders concurrent slices.
    locked = ImportJob.objects.select_for_update().get(pk=job.pk)
    if locked.episode_item_id is None:
        locked.episode_item = _item_create(job, ItemKind.EPISODE, job.episode_name or import_file.display_name)
        ImportJob.objects.filter(pk=job.pk).update(episode_item=locked.episode_item)
    return Item.objects.select_for_update().get(pk=locked.episode_item_id)


def _item_create(job: ImportJob, kind: str, name: str) -> Item:
    item = Item.objects.create(dataset_id=job.dataset_id, kind=kind, name=name)
    Dataset.objects.filter(pk=job.dataset_id).update(item_count=F("item_count") + 1)
    return item


def _thumbnail_size(dataset_id: int, sha256: str) -> tuple[int, int]:
    from PIL import Image

    tiles = storage.tiles_directory(dataset_id=dataset_id, sha256=sha256)
    with Image.open(tiles / "thumbnail.jpg") as thumbnail:
        return thumbnail.size


def _source_detail(job: ImportJob, import_file: ImportFile) -> str:
    if job.kind == ImportKind.UPLOAD:
        return ""
    return f"{job.source_detail} :: {import_file.display_name}"[:2000]


# ---------------------------------------------------------------- outcomes, counts, events


def _outcome_record(
    job: ImportJob,
    import_file: ImportFile,
    *,
    outcome: str,
    code: str = "",
    reason: str = "",
    new_slice: Slice | None = None,
    duplicate_of: Slice | None = None,
    near_duplicate_of_id: int | None = None,
) -> None:
    with transaction.atomic():
        claimed = ImportFile.objects.filter(pk=import_file.pk, outcome=FileOutcome.PENDING).update(
            outcome=outcome,
            code=code,
            reason=reason,
            slice=new_slice,
            duplicate_of=duplicate_of,
            near_duplicate_of_id=near_duplicate_of_id,
        )
        if not claimed:
            raise _RaceLost()  # rolls back the slice created in the enclosing transaction, if any
        counts = _counts_update(job)
        event_publish(
            topic=f"team.{job.dataset.team_id}",
            kind=EVENT_FILE,
            payload={
                "import_job": job.pk,
                "dataset": job.dataset_id,
                "position": import_file.position,
                "name": import_file.display_name,
                "outcome": outcome,
                "code": code,
                "reason": reason,
                "slice": new_slice.pk if new_slice else None,
                "item": new_slice.item_id if new_slice else None,
                "near_duplicate_of": near_duplicate_of_id,
                **counts,
            },
        )


def _counts_update(job: ImportJob) -> dict:
    tally = ImportFile.objects.filter(job_id=job.pk).aggregate(
        total=Count("id"),
        pending=Count("id", filter=Q(outcome=FileOutcome.PENDING)),
        accepted=Count("id", filter=Q(outcome=FileOutcome.ACCEPTED)),
        refused=Count("id", filter=Q(outcome=FileOutcome.REFUSED)),
        duplicates=Count("id", filter=Q(outcome=FileOutcome.DUPLICATE)),
        skipped=Count("id", filter=Q(outcome=FileOutcome.SKIPPED)),
        near_duplicates=Count("id", filter=Q(near_duplicate_of__isnull=False)),
    )
    total = tally.pop("total")
    pending = tally.pop("pending")
    counts = {**tally, "total": total, "progress": 1.0 if total == 0 else round((total - pending) / total, 4)}
    ImportJob.objects.filter(pk=job.pk).update(**counts)
    return counts


def _job_finish(job: ImportJob) -> None:
    with transaction.atomic():
        counts = _counts_update(job)
        if job.kind in SKIPPING_KINDS and counts["total"] == counts["skipped"]:
            _job_fail(job, REASON_NO_IMAGES)
            return
        finished = ImportJob.objects.filter(pk=job.pk, state=ImportState.RUNNING).update(
            state=ImportState.SUCCEEDED, finished_at=timezone.now(), progress=1.0
        )
        if finished:
            _job_event(job, ImportState.SUCCEEDED, counts)
    storage.staging_remove(dataset_id=job.dataset_id, job_id=job.pk)


def _job_fail(job: ImportJob, detail: str) -> None:
    with transaction.atomic():
        failed = ImportJob.objects.filter(pk=job.pk, state__in=[ImportState.QUEUED, ImportState.RUNNING]).update(
            state=ImportState.FAILED, detail=detail[:1000], finished_at=timezone.now(), progress=1.0
        )
        if failed:
            _job_event(job, ImportState.FAILED, {"detail": detail})
    storage.staging_remove(dataset_id=job.dataset_id, job_id=job.pk)


def _job_event(job: ImportJob, state: str, extra: dict) -> None:
    event_publish(
        topic=f"team.{job.dataset.team_id}",
        kind=EVENT_JOB,
        payload={"import_job": job.pk, "dataset": job.dataset_id, "state": state, **extra},
    )


# ---------------------------------------------------------------- files


def _copy_atomically(source: Path, target: Path) -> None:
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(handle)
    try:
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _paths_remove(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
