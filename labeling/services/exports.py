"""Exports of frozen versions (docs/decisions.md §3, §7): the request makes a job, the worker writes it.

`export_create` checks the options (400 naming the field) and makes a queued job whose task is
sent after commit. `export_job_run` is idempotent (Celery delivers at least once): a finished job
is left alone; an unfinished one is written again from the start into its work folder, and the
finished zip is moved into place with one rename, so two deliveries at once write the same bytes
and the last rename wins. The pure writers (labeling/formats/) stream: VersionItems are read in
chunks, annotations spool to temporary files, images are copied one at a time.
"""

import logging
import os
import shutil
import time

import orjson
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.text import slugify

from labeling import storage
from labeling.formats import ExportMeta, ExportRecord, OptionsInvalid, export_write, options_parse
from labeling.formats.archive import ExportFailed
from labeling.models import EXPORT_FINISHED_STATES, DatasetVersion, ExportJob, ExportState, VersionItem
from labeling.schema import SchemaInvalid, normalized_schema
from labeling.signals import export_finished
from portal.realtime.services import event_publish
from portal.signals import send_after_commit

log = logging.getLogger(__name__)

EXPORT_TASK = "labeling.export_run"
EVENT_EXPORT = "labeling.export_job"
REASON_SERVER_ERROR = "the export could not be written (server error); try again"
PROGRESS_EVERY_SECONDS = 0.5
READ_CHUNK = 2000


def export_create(*, version: DatasetVersion, user, format: str, options: dict | None) -> ExportJob:
    try:
        parsed = options_parse(format, options)
    except OptionsInvalid as invalid:
        raise ValidationError(invalid.errors) from None
    with transaction.atomic():
        job = ExportJob.objects.create(
            dataset_id=version.dataset_id,
            version=version,
            format=parsed.format,
            options=parsed.as_dict(),
            items_total=version.stats.get("items", 0),
            created_by=user,
        )
        export_enqueue(job=job)
    return job


def export_enqueue(*, job: ExportJob) -> None:
    from portal.celery import app

    transaction.on_commit(lambda: app.send_task(EXPORT_TASK, kwargs={"export_job_id": job.pk}))


def export_file_name(job: ExportJob) -> str:
    """The download's name: <dataset>-v<number>-<format>.zip (display only; the stored path is by id)."""
    return f"{slugify(job.dataset.name) or 'dataset'}-v{job.version.number}-{job.format.replace('_', '-')}.zip"


def export_job_run(*, export_job_id: int) -> None:
    job = ExportJob.objects.filter(pk=export_job_id).select_related("dataset", "version").first()
    if job is None or job.state in EXPORT_FINISHED_STATES:
        return  # deleted, or a re-delivery of finished work
    ExportJob.objects.filter(pk=job.pk, state__in=[ExportState.QUEUED, ExportState.RUNNING]).update(
        state=ExportState.RUNNING, started_at=timezone.now(), progress=0.0, items_done=0
    )
    workdir = storage.export_workdir(dataset_id=job.dataset_id, job_id=job.pk)
    try:
        counts = _write(job, workdir)
    except ExportFailed as failed:
        _fail(job, str(failed))
        return
    except Exception:
        log.exception("export %s failed", job.pk)
        _fail(job, REASON_SERVER_ERROR)
        return
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    _finish(job, counts)


def export_meta(version: DatasetVersion) -> ExportMeta:
    dataset = version.dataset
    try:
        schema = normalized_schema(dataset.label_schema)
    except SchemaInvalid:
        schema = {"classes": [], "relations": []}
    classes = list(schema["classes"])
    known = {c["name"] for c in classes}
    # A frozen shape may use a class since removed from the schema: it still gets a category.
    classes += [
        {"name": name, "shapes": ["box", "polygon"], "attributes": []}
        for name in (version.stats.get("classes") or {})
        if name not in known
    ]
    return ExportMeta(
        dataset=dataset.name,
        version=version.number,
        content_hash=version.content_hash,
        created=version.created_at.isoformat(),
        classes=classes,
        relation_types=list(schema.get("relations", [])),
    )


def version_records(version: DatasetVersion):
    """The version's items in id order, read in chunks (a server-side cursor on PostgreSQL).

    The snapshot is read as text and parsed with orjson: JSONField's per-row json.loads costs about
    as much as the whole COCO writer at 100,000 items, orjson under half of that (bench/export.py)."""
    rows = (
        VersionItem.objects.filter(version=version)
        .order_by("id")
        .annotate(raw=Cast("snapshot", TextField()))
        .values_list("item_id", "split", "raw")
        .iterator(chunk_size=READ_CHUNK)
    )
    loads = orjson.loads
    return (
        ExportRecord(item_id=item_id, split=split, snapshot=loads(raw) if isinstance(raw, str) else raw)
        for item_id, split, raw in rows
    )


def _write(job: ExportJob, workdir) -> dict:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    options = options_parse(job.format, job.options)
    partial = workdir / "export.zip"
    counts = export_write(
        records=version_records(job.version),
        meta=export_meta(job.version),
        options=options,
        path=partial,
        workdir=workdir,
        image_path=lambda sha256: storage.image_path(dataset_id=job.dataset_id, sha256=sha256),
        progress=_ProgressReporter(job),
    )
    target = storage.export_path(dataset_id=job.dataset_id, job_id=job.pk)
    os.replace(partial, target)
    return counts.as_dict()


class _ProgressReporter:
    """Records progress on the job (and tells the team's pages) at most every half second."""

    def __init__(self, job: ExportJob):
        self.job, self.last = job, 0.0

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_SECONDS:
            return
        self.last = now
        progress = min(0.99, done / self.job.items_total) if self.job.items_total else 0.0
        ExportJob.objects.filter(pk=self.job.pk, state=ExportState.RUNNING).update(
            progress=round(progress, 4), items_done=done
        )
        _event(self.job, ExportState.RUNNING, {"progress": round(progress, 4), "items_done": done})


def _finish(job: ExportJob, counts: dict) -> None:
    target = storage.export_path(dataset_id=job.dataset_id, job_id=job.pk)
    relative = os.path.relpath(target, storage.dataset_root(dataset_id=job.dataset_id).parent.parent)
    with transaction.atomic():
        finished = ExportJob.objects.filter(pk=job.pk, state=ExportState.RUNNING).update(
            state=ExportState.SUCCEEDED,
            progress=1.0,
            items_done=counts["items"],
            counts=counts,
            file_path=relative,
            file_size=target.stat().st_size,
            finished_at=timezone.now(),
        )
        if finished:
            _event(job, ExportState.SUCCEEDED, {"progress": 1.0, "counts": counts})
            send_after_commit(export_finished, export_job_id=job.pk, state=ExportState.SUCCEEDED)


def _fail(job: ExportJob, error: str) -> None:
    with transaction.atomic():
        failed = ExportJob.objects.filter(pk=job.pk, state__in=[ExportState.QUEUED, ExportState.RUNNING]).update(
            state=ExportState.FAILED, error=error[:1000], finished_at=timezone.now()
        )
        if failed:
            _event(job, ExportState.FAILED, {"error": error})
            send_after_commit(export_finished, export_job_id=job.pk, state=ExportState.FAILED)


def _event(job: ExportJob, state: str, extra: dict) -> None:
    event_publish(
        topic=f"team.{job.dataset.team_id}",
        kind=EVENT_EXPORT,
        payload={"export_job": job.pk, "version": job.version_id, "dataset": job.dataset_id, "state": state, **extra},
    )
