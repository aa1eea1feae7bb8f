"""Inputs staged for jobs (docs/models.md "Inputs staged for jobs").

A training job that names a dataset version is not submitted at once: `staged_job_submit` checks
everything the job would be refused for (a dry run of the scheduler's `job_submit`, rolled back), reuses
an identical finished export of the version (same format, same parsed options) or has labeling export it,
and records an `InputStaging` (state `staging`). After commit the task `training.stage_inputs` runs
`staging_advance`: while the export runs it looks again a moment later; once the export has succeeded it
unpacks the zip once per export into the staged cache (`<ATELIER_JOB_DATA_ROOT>/staged/export-<id>/`,
the portal's account only) and, in one transaction, submits the job and links the files into the job's
own folder (`job-<id>/inputs/`). The job's inputs then say where the data is (`data`, so
`ATELIER_INPUT_DATA`) and which version it is (`dataset_version`, labeling's `version_ref()`).

Who reads what: the job's folder is closed (0750, the portal's account) except while an attempt of that
job runs, when the runner opens it for passing through (scheduler/execution/isolation.py); so the job's
account reads its inputs while it runs, and a job of another team that runs before or after it reads
nothing, neither there nor in the cache.

Idempotent (Celery delivers at least once): the unpacking goes to a temporary folder renamed into place,
and the submission is a compare-and-set on the staging's state inside the transaction that creates the
job, so a second delivery submits nothing.
"""

import logging
import os
import shutil
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from labeling import access as labeling_access
from labeling import storage as labeling_storage
from labeling.formats import OptionsInvalid, options_parse
from labeling.models import ExportJob, ExportState
from labeling.selectors.versions import version_ref
from labeling.services.exports import export_create
from scheduler.models import JobState
from scheduler.selectors.jobs import job_output_file
from scheduler.services.jobs import job_submit
from training.models import CheckpointFormat, InputStaging, RegisteredModel, StagingState

log = logging.getLogger(__name__)

STAGE_TASK = "training.stage_inputs"
DEFAULT_FORMAT = "coco"
DEFAULT_OPTIONS = {"include_images": True}
MAY_NOT_STAGE = "Only researchers and team admins of the dataset's team train on its versions."
VERSION_OF_ANOTHER_TEAM = "Dataset version {version} belongs to another team than the job."
EXPORT_FAILED = "The export of dataset version {version} failed: {error}"
REGISTERED_CHECKPOINT = "model.pt"
STAGING_FAILED = "The inputs could not be staged (server error); submit the job again."
UNSAFE_ENTRY = "the export holds an unsafe entry {name!r}"


class _DryRun(Exception):
    """Rolls back the dry run of job_submit."""


def staged_job_submit(
    *,
    user,
    dataset_version_id: int,
    job: dict,
    export_format: str = DEFAULT_FORMAT,
    export_options: dict | None = None,
    register_as: str = "",
) -> InputStaging:
    """Stage `dataset_version_id` for the job described by `job` (job_submit's arguments), then submit it."""
    version = labeling_access.access_version_for_user(user, dataset_version_id)  # another team's: 404
    if not labeling_access.may_change_team_datasets(user, version.dataset.team_id):
        raise PermissionDenied(MAY_NOT_STAGE)
    options = _parsed_options(export_format, DEFAULT_OPTIONS if export_options is None else export_options)
    spec = dict(job)
    if spec.get("team_id") is None:
        spec["team_id"] = version.dataset.team_id  # the version's team, unless the person named another
    spec["time_limit_s"] = int(spec.pop("time_limit").total_seconds())
    submitted = _dry_run(user=user, spec=spec)
    if submitted.team_id != version.dataset.team_id:
        raise ValidationError({"dataset_version": [VERSION_OF_ANOTHER_TEAM.format(version=version.pk)]})
    with transaction.atomic():
        export = reusable_export(version=version, format=options.format, options=options.as_dict())
        reused = export is not None
        if export is None:
            export = export_create(version=version, user=user, format=options.format, options=options.as_dict())
        staging = InputStaging.objects.create(
            team_id=submitted.team_id,
            requested_by=user,
            dataset_version=version,
            export_format=options.format,
            export_options=options.as_dict(),
            export=export,
            reused_export=reused,
            job_spec=spec,
            register_as=register_as,
        )
        staging_enqueue(staging_id=staging.pk)
    return staging


def staging_enqueue(*, staging_id: int, countdown: float = 0.0) -> None:
    from portal.celery import app

    def send() -> None:
        try:
            app.send_task(STAGE_TASK, kwargs={"staging_id": staging_id}, countdown=countdown or None)
        except Exception:  # kombu raises several types; the staging is in the database, beat's sweep sends it
            log.warning("could not enqueue staging %s; beat's sweep will", staging_id, exc_info=True)

    transaction.on_commit(send)


def staging_advance(*, staging_id: int) -> None:
    """One step of a staging: wait for the export, or stage and submit. Safe to run twice."""
    staging = InputStaging.objects.filter(pk=staging_id).select_related("export", "dataset_version").first()
    if staging is None or staging.state != StagingState.STAGING:
        return  # deleted, or a second delivery of finished work
    export = staging.export
    if export is None or export.state == ExportState.FAILED:
        error = export.error if export else "the export was deleted"
        _fail(staging, EXPORT_FAILED.format(version=staging.dataset_version.number, error=error))
        return
    if export.state != ExportState.SUCCEEDED:
        staging_enqueue(staging_id=staging.pk, countdown=settings.TRAINING_STAGING_POLL_INTERVAL)
        return
    try:
        cache = export_unpacked(export)
        _submit(staging, cache)
    except ValidationError as refused:  # the team's quota or limits changed since the dry run, say
        _fail(staging, "; ".join(refused.messages))
    except Exception:
        log.exception("staging %s failed", staging.pk)
        _fail(staging, STAGING_FAILED)


def staging_sweep() -> int:
    """Beat's round: send again every staging that waits longer than a few polls (a lost message delays,
    never strands), and register the model of every succeeded job whose staging asked for it."""
    stale = timezone.now() - timedelta(seconds=settings.TRAINING_STAGING_SWEEP_AFTER)
    ids = list(
        InputStaging.objects.filter(state=StagingState.STAGING, created_at__lt=stale).values_list("pk", flat=True)
    )
    for staging_id in ids:
        staging_enqueue(staging_id=staging_id)
    for staging in InputStaging.objects.filter(
        state=StagingState.SUBMITTED, job__state=JobState.SUCCEEDED, model_version=None, register_error=""
    ).exclude(register_as=""):
        staging_register(staging=staging)
    return len(ids)


def staging_register(*, staging: InputStaging) -> None:
    """The succeeded job's `model.pt` (and `metrics.json`) as a new version of the model `register_as`."""
    from training.services.registry import model_create, version_register

    job = staging.job
    try:
        model = RegisteredModel.objects.filter(team_id=staging.team_id, name=staging.register_as).first()
        model = model or model_create(user=staging.requested_by, team_id=staging.team_id, name=staging.register_as)
        metrics = "metrics.json" if job_output_file(job=job, relative="metrics.json") else ""
        version = version_register(
            user=staging.requested_by,
            model=model,
            job=job,
            checkpoint=REGISTERED_CHECKPOINT,
            format=CheckpointFormat.STATE_DICT,
            metrics_file=metrics,
            params={"command": job.command},
        )
    except Exception as refused:  # refused (a 400, 403, 409) or broken: recorded once, not retried each round
        log.warning("staging %s: the model could not be registered: %s", staging.pk, refused)
        InputStaging.objects.filter(pk=staging.pk).update(register_error="; ".join(_messages(refused))[:2000])
        return
    InputStaging.objects.filter(pk=staging.pk).update(model_version=version)


def staged_root() -> Path:
    return Path(settings.JOB_DATA_ROOT) / "staged"


def job_inputs_folder(*, job_id: int) -> Path:
    return Path(settings.JOB_DATA_ROOT) / f"job-{job_id}" / "inputs"


def _parsed_options(export_format: str, raw: dict):
    try:
        return options_parse(export_format, raw)
    except OptionsInvalid as invalid:
        raise ValidationError({f"export_{field}": messages for field, messages in invalid.errors.items()}) from None


def _dry_run(*, user, spec: dict):
    """job_submit's own checks now, so a mistake is a 400 at once rather than a failed staging later."""
    try:
        with transaction.atomic():
            job = job_submit(user=user, **_submit_arguments(spec))
            raise _DryRun(job)
    except _DryRun as dry:
        return dry.args[0]


def _submit_arguments(spec: dict) -> dict:
    arguments = {k: v for k, v in spec.items() if k != "time_limit_s"}
    arguments["time_limit"] = timedelta(seconds=spec["time_limit_s"])
    return arguments


def reusable_export(*, version, format: str, options: dict) -> ExportJob | None:
    """The newest finished export of the version with this format and these (parsed) options."""
    candidates = ExportJob.objects.filter(version=version, format=format, state=ExportState.SUCCEEDED).order_by("-id")
    for export in candidates:
        if (
            export.options == options
            and labeling_storage.export_path(dataset_id=export.dataset_id, job_id=export.pk).is_file()
        ):
            return export
    return None


def export_unpacked(export: ExportJob) -> Path:
    """The export's files, unpacked once into the staged cache (the portal's account only)."""
    root = staged_root()
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    target = root / f"export-{export.pk}"
    if target.is_dir():
        return target
    partial = root / f"tmp-{uuid.uuid4().hex}"
    try:
        with zipfile.ZipFile(labeling_storage.export_path(dataset_id=export.dataset_id, job_id=export.pk)) as archive:
            for entry in archive.infolist():
                _extract(archive, entry, partial)
        try:
            partial.rename(target)
        except OSError:
            if not target.is_dir():  # another delivery renamed the same bytes into place first: fine
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


def _extract(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, into: Path) -> None:
    name = PurePosixPath(entry.filename)
    if name.is_absolute() or ".." in name.parts or not name.parts:
        raise OSError(UNSAFE_ENTRY.format(name=entry.filename))
    destination = into.joinpath(*name.parts)
    if entry.is_dir():
        destination.mkdir(mode=0o755, parents=True, exist_ok=True)
        return
    destination.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    with archive.open(entry) as source, open(destination, "wb") as sink:
        shutil.copyfileobj(source, sink, 1024 * 1024)
    destination.chmod(0o644)


def _submit(staging: InputStaging, cache: Path) -> None:
    with transaction.atomic():
        claimed = InputStaging.objects.filter(pk=staging.pk, state=StagingState.STAGING).update(
            state=StagingState.SUBMITTED, finished_at=timezone.now()
        )
        if not claimed:
            return  # another delivery submitted it
        arguments = _submit_arguments(staging.job_spec)
        inputs = dict(arguments.pop("inputs", None) or {})
        inputs["dataset_version"] = version_ref(version=staging.dataset_version)
        job = job_submit(user=staging.requested_by, inputs=inputs, **arguments)
        folder = job_inputs_folder(job_id=job.pk)
        job.inputs = inputs | {"data": str(folder)}
        job.save(update_fields=["inputs"])
        InputStaging.objects.filter(pk=staging.pk).update(job=job)
        try:
            link_tree(cache, folder)
        except BaseException:
            shutil.rmtree(folder.parent, ignore_errors=True)
            raise


def link_tree(source: Path, target: Path) -> None:
    """The cache's files in the job's closed folder: hard links (no copy) where one filesystem holds both."""
    job_dir = target.parent
    job_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
    job_dir.chmod(0o750)  # closed until an attempt of this job opens it (scheduler/execution/isolation.py)
    for folder, dirnames, filenames in os.walk(source):
        relative = Path(folder).relative_to(source)
        (target / relative).mkdir(mode=0o755, parents=True, exist_ok=True)
        (target / relative).chmod(0o755)
        for name in filenames:
            link_or_copy(Path(folder) / name, target / relative / name)


def link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except FileExistsError:
        pass
    except OSError:
        shutil.copyfile(source, target)
        target.chmod(0o644)


def readable_link_or_copy(source: Path, target: Path) -> None:
    """A hard link where the stored file is readable by others already (a link shares the file's mode, and
    labeling, the registry and finished jobs' outputs keep theirs to the portal's account); otherwise a copy
    the job's account can read."""
    if source.stat().st_mode & 0o004:
        link_or_copy(source, target)
        return
    shutil.copyfile(source, target)
    target.chmod(0o644)


def _messages(refused: Exception) -> list[str]:
    return refused.messages if isinstance(refused, ValidationError) else [str(refused)]


def _fail(staging: InputStaging, error: str) -> None:
    InputStaging.objects.filter(pk=staging.pk, state=StagingState.STAGING).update(
        state=StagingState.FAILED, error=error[:2000], finished_at=timezone.now()
    )
