"""Pre-label runs (docs/models.md "Pre-label runs").

`prelabel_run_start` checks who may run what, resolves an alias to its version (recorded), reads the item
set (all of the dataset's items, those of a version, a grid filter or a selection: labeling's item scopes)
and the job's own refusals (a dry run of `job_submit`), and records the run as `staging`; nothing is
copied in the request. The task `training.prelabel_stage` links the items' images, the version's
`model.pt` and `config.json` and a `manifest.json` into a folder of its own, then in one transaction
submits an ordinary job on the team's GPUs and quota running `python -m training.detector.prelabel` and
moves the folder in as the job's inputs (closed as for staged training inputs). A second delivery, or a
run cancelled meanwhile, finds the run no longer `staging` and leaves nothing behind.

`prelabel_ingest` (task `training.prelabel_ingest`, sent when the job ends and by beat's
`training.prelabel_sweep` for every running run) reads the complete lines the job appended to
`predictions.jsonl` since the byte offset recorded on the run and stores each through labeling's
`predictions_record` (unique per run and item, so a requeued attempt or a second ingest never doubles a
prediction); once the job has ended and its file is read to the end, the run ends with it (failed with
the job's reason, cancelled with a cancelled job). Episodes are predicted whole: the job stacks an
episode's slices at their offsets into one image.

`prelabel_run_cancel` ends a staging run at once and cancels a running run's job (its process stops
within a second, so within the item it was predicting); what was written before is ingested and kept.
"""

import json
import logging
import os
import shutil
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from labeling import access as labeling_access
from labeling import storage as labeling_storage
from labeling.models import Item, Slice
from labeling.selectors.item_scopes import item_ids_in_scope, scope_errors
from labeling.services.predictions import predictions_record
from portal.errors import Conflict
from scheduler.models import JOB_FINAL_STATES as ENDED
from scheduler.models import JobState
from scheduler.selectors.jobs import job_output_file
from scheduler.services.jobs import job_cancel, job_submit
from training.access import access_model_for_user, access_run_for_user, check_may_register
from training.detector.lines import LOAD_ERROR_FILE, MANIFEST_FILE, PREDICTIONS_FILE, lines_read
from training.models import FileRole, ModelAlias, ModelVersion, PrelabelRun, PrelabelState
from training.refs import model_version_ref, prelabel_run_ref
from training.selectors.registry import version_folder
from training.services.staging import job_inputs_folder, readable_link_or_copy, staged_root

log = logging.getLogger(__name__)

INGEST_TASK = "training.prelabel_ingest"
STAGE_TASK = "training.prelabel_stage"
COMMAND = "python -m training.detector.prelabel"
DEFAULT_GPUS = 1
DEFAULT_TIME_LIMIT = timedelta(hours=2)
STAGING_RESENT_AFTER = timedelta(minutes=2)  # beat re-sends a staging whose message may be lost
NO_SUCH_VERSION = "No such model version."
NO_SUCH_ALIAS = "No such alias of this model."
VERSION_OR_ALIAS = "Name a version number or an alias, not both."
NOT_A_DETECTOR = "Version {number} has no {role} file: pre-label runs need model.pt and config.json."
OTHER_TEAM = "The dataset belongs to another team than the model."
BAD_THRESHOLD = "A score threshold is a number from 0 to 1."
BAD_CLASSES = "Classes are a list of class names."
MAY_NOT_PRELABEL = "Only researchers and team admins of the dataset's team pre-label it."
EMPTY_DATASET = "The dataset has no items to pre-label."
EMPTY_ITEM_SET = "No item of the dataset is in this set: nothing to pre-label."
JOB_ENDED = "The job ended {state}: {reason}"
REQUESTER_GONE = "The person who started the run no longer has an account."
CANCELLED_STAGING = "Cancelled by {user} before its job started."
STAGING_IO_FAILED = "Staging the inputs failed: {error}"
ALREADY_ENDED = "The run has already ended ({state})."


def prelabel_run_start(
    *,
    user,
    model_id: int,
    dataset_id: int,
    version: int | None = None,
    alias: str = "",
    threshold: float = 0.3,
    classes: list[str] | None = None,
    scope: str = "all",
    filters: dict | None = None,
    item_ids: list[int] | None = None,
    dataset_version_id: int | None = None,
    gpus: int = DEFAULT_GPUS,
    time_limit: timedelta = DEFAULT_TIME_LIMIT,
    working_dir: str = "",
) -> PrelabelRun:
    """A run in `staging` (its staging task sent on commit), or a refusal: 404 another team's model or
    dataset, 403 not a researcher or team admin, a ValidationError naming each bad field."""
    model = access_model_for_user(user, model_id)  # another team's: 404
    dataset = labeling_access.access_dataset_for_user(user, dataset_id)  # another team's: 404
    check_may_register(user, model.team_id)
    if not labeling_access.may_change_team_datasets(user, dataset.team_id):
        raise PermissionDenied(MAY_NOT_PRELABEL)
    classes = list(classes or [])
    errors = _start_errors(model, dataset, version=version, alias=alias, threshold=threshold, classes=classes)
    errors |= scope_errors(scope=scope, filters=filters, item_ids=item_ids)
    if errors:
        raise ValidationError(errors)
    chosen = _version(model, version=version, alias=alias)
    _detector_files(chosen)
    item_set = {
        "scope": scope,
        "filter": {k: v for k, v in (filters or {}).items() if v},
        "items": list(item_ids or []),
        "version": dataset_version_id,
    }
    items = _item_ids(dataset, item_set)
    job_spec = {
        "gpus": gpus,
        "time_limit_s": int(time_limit.total_seconds()),
        "working_dir": working_dir or settings.TRAINING_PRELABEL_WORKDIR,
    }
    _job_dry_run(user=user, run_name=_job_name(dataset, chosen), team_id=model.team_id, spec=job_spec)
    with transaction.atomic():
        run = PrelabelRun.objects.create(
            team_id=model.team_id,
            requested_by=user,
            model_version=chosen,
            alias=alias,
            dataset=dataset,
            threshold=float(threshold),
            classes=classes,
            item_set=item_set,
            job_spec=job_spec,
            items_total=len(items),
        )
        transaction.on_commit(lambda: stage_enqueue(run_id=run.pk))
    return run


def _start_errors(model, dataset, *, version, alias, threshold, classes) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if dataset.team_id != model.team_id:
        errors["dataset"] = [OTHER_TEAM]
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        errors["threshold"] = [BAD_THRESHOLD]
    if not all(isinstance(name, str) and name for name in classes):
        errors["classes"] = [BAD_CLASSES]
    if (version is None) == (not alias):
        errors["version"] = [VERSION_OR_ALIAS]
    return errors


def _item_ids(dataset, item_set: dict) -> list[int]:
    items = item_ids_in_scope(
        dataset=dataset,
        scope=item_set["scope"],
        filters=item_set["filter"],
        item_ids=item_set["items"],
        version_id=item_set["version"],
    )
    if not items:
        everything = item_set["scope"] == "all" and item_set["version"] is None
        raise ValidationError({"dataset" if everything else "scope": [EMPTY_DATASET if everything else EMPTY_ITEM_SET]})
    return items


def _job_name(dataset, version: ModelVersion) -> str:
    return f"pre-label {dataset.name} with {version.model.name} v{version.number}"


class _DryRun(Exception):
    pass


def _job_dry_run(*, user, run_name: str, team_id: int, spec: dict) -> None:
    """job_submit's own refusals (GPUs, time limit, quota, working folder) now, as a 400, rather than a
    failed staging later: the job is submitted in a transaction that is then rolled back."""
    try:
        with transaction.atomic():
            _job_submit(user=user, name=run_name, team_id=team_id, spec=spec)
            raise _DryRun
    except _DryRun:
        pass


def _job_submit(*, user, name: str, team_id: int, spec: dict):
    return job_submit(
        user=user,
        command=COMMAND,
        gpus=spec["gpus"],
        time_limit=timedelta(seconds=spec["time_limit_s"]),
        name=name,
        team_id=team_id,
        working_dir=spec["working_dir"],
    )


def prelabel_stage(*, run_id: int) -> PrelabelRun | None:
    """The staging task: the inputs in a folder of this delivery's own, then the job submitted and the
    folder moved in as its inputs, in one transaction that first checks the run is still `staging`.
    A refusal at submit time (the quota changed meanwhile) fails the run with the message."""
    run = (
        PrelabelRun.objects.select_related("model_version__model", "dataset", "requested_by").filter(pk=run_id).first()
    )
    if run is None or run.state != PrelabelState.STAGING:
        return run
    root = staged_root()
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    folder = root / f"prelabel-{run.pk}-{uuid.uuid4().hex}"
    try:
        if run.requested_by is None:
            raise ValidationError(REQUESTER_GONE)
        files = _detector_files(run.model_version)
        items = _item_ids(run.dataset, run.item_set)
        _stage(folder, dataset_id=run.dataset_id, items=items, files=files, run=run)
        return _submit_staged(run, folder, items_total=len(items))
    except (ValidationError, PermissionDenied) as refused:
        return _staging_failed(run, refused)
    except OSError as failed:  # a full disk, a file gone from the store: retrying would fail the same way
        return _staging_failed(run, ValidationError(STAGING_IO_FAILED.format(error=failed)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # gone already where it became the job's inputs


def _submit_staged(run: PrelabelRun, folder: Path, *, items_total: int) -> PrelabelRun:
    moved_to = None
    try:
        with transaction.atomic():
            locked = PrelabelRun.objects.select_for_update().get(pk=run.pk)
            if locked.state != PrelabelState.STAGING:
                return locked  # cancelled, or staged by another delivery, meanwhile
            job = _job_submit(
                user=run.requested_by,
                name=_job_name(run.dataset, run.model_version),
                team_id=run.team_id,
                spec=run.job_spec,
            )
            inputs = job_inputs_folder(job_id=job.pk)
            inputs.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
            inputs.parent.chmod(
                0o750
            )  # closed until an attempt of this job opens it (scheduler/execution/isolation.py)
            os.rename(folder, inputs)  # both under JOB_DATA_ROOT: one filesystem, an atomic move
            moved_to = inputs.parent
            job.inputs = {"data": str(inputs), "model_version": model_version_ref(version_id=run.model_version_id)}
            job.save(update_fields=["inputs"])
            locked.job, locked.state, locked.items_total = job, PrelabelState.RUNNING, items_total
            locked.save(update_fields=["job", "state", "items_total"])
        return locked
    except BaseException:
        if moved_to is not None:  # the job's row was rolled back: its folder goes too
            shutil.rmtree(moved_to, ignore_errors=True)
        raise


def _staging_failed(run: PrelabelRun, refused: Exception) -> PrelabelRun:
    message = "; ".join(refused.messages) if isinstance(refused, ValidationError) else str(refused)
    with transaction.atomic():
        locked = PrelabelRun.objects.select_for_update().get(pk=run.pk)
        if locked.state == PrelabelState.STAGING:
            locked.state, locked.error, locked.finished_at = PrelabelState.FAILED, message[:2000], timezone.now()
            locked.save(update_fields=["state", "error", "finished_at"])
    return locked


def prelabel_run_cancel(*, user, run_id: int) -> PrelabelRun:
    """A person stops a run (researchers and team admins of its team; another team's: 404)."""
    run = access_run_for_user(user, run_id)
    check_may_register(user, run.team_id)
    with transaction.atomic():
        if not prelabel_run_stop(run_id=run.pk, by=user):
            run.refresh_from_db()
            raise Conflict(ALREADY_ENDED.format(state=run.get_state_display().lower()))
    run.refresh_from_db()
    return run


def prelabel_run_stop(*, run_id: int, by, reason: str = "") -> bool:
    """A run still staging ends `cancelled` now; a running run's job is cancelled, and the run ends
    `cancelled` once the job has (its ingest keeps what was written before). False: already ended."""
    with transaction.atomic():
        run = PrelabelRun.objects.select_for_update(of=("self",)).select_related("job").get(pk=run_id)
        if run.state == PrelabelState.STAGING:
            run.state, run.finished_at = PrelabelState.CANCELLED, timezone.now()
            run.error = reason or CANCELLED_STAGING.format(user=by.get_username())
            run.save(update_fields=["state", "finished_at", "error"])
            return True
        if run.state != PrelabelState.RUNNING:
            return False
        if run.job is not None and run.job.state not in ENDED:
            job_cancel(job=run.job, by=by, reason=reason)
        return True


def _version(model, *, version: int | None, alias: str) -> ModelVersion:
    if alias:
        found = ModelAlias.objects.filter(model=model, name=alias).select_related("version").first()
        if found is None:
            raise Http404(NO_SUCH_ALIAS)
        return found.version
    found = ModelVersion.objects.filter(model=model, number=version).first()
    if found is None:
        raise Http404(NO_SUCH_VERSION)
    return found


def _detector_files(version: ModelVersion) -> dict[str, Path]:
    files = {}
    for role, name in ((FileRole.CHECKPOINT, "model.pt"), (FileRole.CONFIG, "config.json")):
        stored = version.files.filter(role=role).first()
        if stored is None:
            raise ValidationError({"version": [NOT_A_DETECTOR.format(number=version.number, role=name)]})
        files[name] = version_folder(version=version) / stored.stored_name
    return files


def _stage(folder: Path, *, dataset_id: int, items: list[int], files: dict, run: PrelabelRun) -> None:
    """The job's inputs: images (hard links where they can be), the model's files and the manifest. The
    dataset's rows are read whole and narrowed here: no IN list of 100,000 ids."""
    (folder / "images").mkdir(mode=0o755, parents=True)
    folder.chmod(0o755)
    (folder / "images").chmod(0o755)
    for name, source in files.items():
        readable_link_or_copy(source, folder / name)
    wanted = set(items)
    slices: dict[int, list] = {}
    for part in Slice.objects.filter(item__dataset_id=dataset_id).order_by("item_id", "position"):
        if part.item_id in wanted:
            slices.setdefault(part.item_id, []).append(part)
    entries = []
    for item in Item.objects.filter(dataset_id=dataset_id).order_by("id").values("id", "width", "height"):
        if item["id"] not in wanted:
            continue
        parts = []
        for part in slices.get(item["id"], []):
            source = labeling_storage.image_path(dataset_id=dataset_id, sha256=part.sha256)
            name = f"images/{part.sha256}{source.suffix}"
            if not (folder / name).exists():  # the same picture in two items: one file
                readable_link_or_copy(source, folder / name)
            parts.append({"file": name, "offset_y": part.offset_y})
        entries.append({"item": item["id"], "width": item["width"], "height": item["height"], "slices": parts})
    manifest = {"threshold": run.threshold, "classes": run.classes, "items": entries}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    (folder / MANIFEST_FILE).chmod(0o644)


def prelabel_ingest(*, run_id: int) -> PrelabelRun | None:
    """Store the new complete lines of the run's output; end the run once its job has ended and every
    line is in. Safe to run twice, and concurrently (the run's row is locked while ingesting)."""
    with transaction.atomic():
        run = PrelabelRun.objects.select_for_update(of=("self",)).filter(pk=run_id).select_related("job").first()
        if run is None or run.state != PrelabelState.RUNNING:
            return run
        job = run.job
        ended = job is None or job.state in ENDED  # read before the file: lines written before the end are in it
        path = job_output_file(job=job, relative=PREDICTIONS_FILE) if job is not None else None
        if path is not None:
            read = lines_read(path, offset=run.ingest_offset)
            _record(run, read.records, bad_lines=read.bad_lines)
            run.ingest_offset = read.offset
        if ended:
            run.finished_at = timezone.now()
            if job is not None and job.state == JobState.SUCCEEDED:
                run.state = PrelabelState.SUCCEEDED
            elif job is not None and job.state == JobState.CANCELLED:
                run.state, run.error = PrelabelState.CANCELLED, job.state_reason[:2000]
            else:
                run.state = PrelabelState.FAILED
                reason = job.state_reason if job is not None else "the job was deleted"
                load_error = job_output_file(job=job, relative=LOAD_ERROR_FILE) if job is not None else None
                if load_error is not None:
                    reason = load_error.read_text(errors="replace").strip()[:1500] or reason
                run.error = JOB_ENDED.format(state=job.state if job else "", reason=reason)[:2000]
        run.save()
    return run


def _record(run: PrelabelRun, records: list[dict], *, bad_lines: int) -> None:
    summary = run.summary or {}
    dropped = Counter(summary.get("dropped", {}))
    kept, refused, unknown = summary.get("kept", 0), summary.get("refused", 0), summary.get("unknown_items", 0)
    unknown += bad_lines
    items = Item.objects.in_bulk([r["item"] for r in records])
    run_ref, model_ref = prelabel_run_ref(run_id=run.pk), model_version_ref(version_id=run.model_version_id)
    for record in records:
        item = items.get(record["item"])
        if item is None or item.dataset_id != run.dataset_id:
            unknown += 1
            continue
        try:
            recorded = predictions_record(item=item, run_ref=run_ref, model_ref=model_ref, shapes=record["shapes"])
        except ValidationError as invalid:
            log.warning("run %s item %s: %s", run.pk, item.pk, invalid)
            refused += len(record["shapes"])
            continue
        if not recorded.created:
            continue  # a line of an item already in (a requeued attempt wrote it again)
        run.items_ingested += 1
        got = recorded.prediction.summary
        kept += got.get("kept", 0)
        dropped.update(got.get("dropped", {}))
        refused += len(got.get("refused", []))
    run.summary = {"kept": kept, "dropped": dict(dropped), "refused": refused, "unknown_items": unknown}


def prelabel_enqueue(*, run_id: int) -> None:
    _send(INGEST_TASK, run_id=run_id)


def stage_enqueue(*, run_id: int) -> None:
    _send(STAGE_TASK, run_id=run_id)


def _send(task: str, *, run_id: int) -> None:
    from portal.celery import app

    try:
        app.send_task(task, kwargs={"run_id": run_id})
    except Exception:  # kombu raises several types; beat's next sweep sends it again
        log.warning("could not send %s for run %s", task, run_id, exc_info=True)


def on_job_ended(*, job_id: int, **_) -> None:
    """A run's job ended (scheduler's job_ended): ingest the rest now, not at beat's next sweep."""
    for run_id in PrelabelRun.objects.filter(job_id=job_id, state=PrelabelState.RUNNING).values_list("pk", flat=True):
        prelabel_enqueue(run_id=run_id)


def prelabel_sweep() -> int:
    """Beat's round: an ingest for every running run, and the staging again for a run staging for longer
    than STAGING_RESENT_AFTER (its message lost; a second delivery finds it staged and does nothing)."""
    ids = list(PrelabelRun.objects.filter(state=PrelabelState.RUNNING).values_list("pk", flat=True))
    for run_id in ids:
        prelabel_enqueue(run_id=run_id)
    stale = list(
        PrelabelRun.objects.filter(
            state=PrelabelState.STAGING, created_at__lt=timezone.now() - STAGING_RESENT_AFTER
        ).values_list("pk", flat=True)
    )
    for run_id in stale:
        stage_enqueue(run_id=run_id)
    _leftover_staging_folders_remove()
    return len(ids) + len(stale)


def _leftover_staging_folders_remove() -> None:
    """A worker killed while staging leaves its `staged/prelabel-<run>-<token>` folder: once the run is no
    longer staging, no delivery will move it in (a delivery still building one finds the run staged and
    stops)."""
    root = staged_root()
    folders = {}
    for folder in root.glob("prelabel-*-*") if root.is_dir() else []:
        run_id = folder.name.split("-")[1]
        if run_id.isdigit():
            folders.setdefault(int(run_id), []).append(folder)
    staging = set(
        PrelabelRun.objects.filter(pk__in=list(folders), state=PrelabelState.STAGING).values_list("pk", flat=True)
    )
    for run_id, leftovers in folders.items():
        if run_id not in staging:
            for folder in leftovers:
                shutil.rmtree(folder, ignore_errors=True)
