"""Pre-label runs (docs/models.md "Pre-label runs").

`prelabel_run_start` checks who may run what, resolves an alias to its version (recorded), stages the
dataset's images, the version's `model.pt` and `config.json` and a `manifest.json` in the job's own inputs
folder (hard links where one filesystem holds both; the folder is closed as for staged training inputs),
and submits an ordinary job on the team's GPUs and quota running `python -m training.detector.prelabel`.

`prelabel_ingest` (task `training.prelabel_ingest`, sent by beat's `training.prelabel_sweep` for every
running run) reads the complete lines the job appended to `predictions.jsonl` since the byte offset
recorded on the run and stores each through labeling's `predictions_record` (unique per run and item, so
a requeued attempt or a second ingest never doubles a prediction); once the job has ended and its file is
read to the end, the run ends with it (failed with the job's reason). Episodes are predicted whole: the
job stacks an episode's slices at their offsets into one image.
"""

import json
import logging
import shutil
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
from labeling.services.predictions import predictions_record
from scheduler.models import JOB_FINAL_STATES as ENDED
from scheduler.models import JobState
from scheduler.selectors.jobs import job_output_file
from scheduler.services.jobs import job_submit
from training.access import access_model_for_user, check_may_register
from training.detector.lines import LOAD_ERROR_FILE, MANIFEST_FILE, PREDICTIONS_FILE, lines_read
from training.models import FileRole, ModelAlias, ModelVersion, PrelabelRun, PrelabelState
from training.refs import model_version_ref, prelabel_run_ref
from training.selectors.registry import version_folder
from training.services.staging import job_inputs_folder, readable_link_or_copy

log = logging.getLogger(__name__)

INGEST_TASK = "training.prelabel_ingest"
COMMAND = "python -m training.detector.prelabel"
DEFAULT_GPUS = 1
DEFAULT_TIME_LIMIT = timedelta(hours=2)
NO_SUCH_VERSION = "No such model version."
NO_SUCH_ALIAS = "No such alias of this model."
VERSION_OR_ALIAS = "Name a version number or an alias, not both."
NOT_A_DETECTOR = "Version {number} has no {role} file: pre-label runs need model.pt and config.json."
OTHER_TEAM = "The dataset belongs to another team than the model."
BAD_THRESHOLD = "A score threshold is a number from 0 to 1."
BAD_CLASSES = "Classes are a list of class names."
MAY_NOT_PRELABEL = "Only researchers and team admins of the dataset's team pre-label it."
EMPTY_DATASET = "The dataset has no items to pre-label."
JOB_ENDED = "The job ended {state}: {reason}"


def prelabel_run_start(
    *,
    user,
    model_id: int,
    dataset_id: int,
    version: int | None = None,
    alias: str = "",
    threshold: float = 0.3,
    classes: list[str] | None = None,
    gpus: int = DEFAULT_GPUS,
    time_limit: timedelta = DEFAULT_TIME_LIMIT,
    working_dir: str = "",
) -> PrelabelRun:
    model = access_model_for_user(user, model_id)  # another team's: 404
    dataset = labeling_access.access_dataset_for_user(user, dataset_id)  # another team's: 404
    check_may_register(user, model.team_id)
    if not labeling_access.may_change_team_datasets(user, dataset.team_id):
        raise PermissionDenied(MAY_NOT_PRELABEL)
    errors: dict[str, list[str]] = {}
    if dataset.team_id != model.team_id:
        errors["dataset"] = [OTHER_TEAM]
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        errors["threshold"] = [BAD_THRESHOLD]
    classes = list(classes or [])
    if not all(isinstance(name, str) and name for name in classes):
        errors["classes"] = [BAD_CLASSES]
    if (version is None) == (not alias):
        errors["version"] = [VERSION_OR_ALIAS]
    if errors:
        raise ValidationError(errors)
    chosen = _version(model, version=version, alias=alias)
    files = _detector_files(chosen)
    items = list(Item.objects.filter(dataset=dataset).order_by("id").values("id", "width", "height"))
    if not items:
        raise ValidationError({"dataset": [EMPTY_DATASET]})
    slices: dict[int, list] = {}
    for part in Slice.objects.filter(item__dataset=dataset).order_by("item_id", "position"):
        slices.setdefault(part.item_id, []).append(part)
    with transaction.atomic():
        job = job_submit(
            user=user,
            command=COMMAND,
            gpus=gpus,
            time_limit=time_limit,
            name=f"pre-label {dataset.name} with {model.name} v{chosen.number}",
            team_id=model.team_id,
            working_dir=working_dir or settings.TRAINING_PRELABEL_WORKDIR,
        )
        folder = job_inputs_folder(job_id=job.pk)
        job.inputs = {"data": str(folder), "model_version": model_version_ref(version_id=chosen.pk)}
        job.save(update_fields=["inputs"])
        run = PrelabelRun.objects.create(
            team_id=model.team_id,
            requested_by=user,
            model_version=chosen,
            alias=alias,
            dataset=dataset,
            threshold=float(threshold),
            classes=classes,
            job=job,
            items_total=len(items),
        )
        try:
            _stage(folder, dataset_id=dataset.pk, items=items, slices=slices, files=files, run=run)
        except BaseException:
            shutil.rmtree(folder.parent, ignore_errors=True)
            raise
    return run


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


def _stage(folder: Path, *, dataset_id: int, items: list, slices: dict, files: dict, run: PrelabelRun) -> None:
    job_dir = folder.parent
    job_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
    job_dir.chmod(0o750)  # closed until an attempt of this job opens it (scheduler/execution/isolation.py)
    (folder / "images").mkdir(mode=0o755, parents=True, exist_ok=True)
    folder.chmod(0o755)
    (folder / "images").chmod(0o755)
    for name, source in files.items():
        readable_link_or_copy(source, folder / name)
    entries = []
    for item in items:
        parts = []
        for part in slices.get(item["id"], []):
            source = labeling_storage.image_path(dataset_id=dataset_id, sha256=part.sha256)
            name = f"images/{part.sha256}{source.suffix}"
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
    from portal.celery import app

    try:
        app.send_task(INGEST_TASK, kwargs={"run_id": run_id})
    except Exception:  # kombu raises several types; the next sweep sends it again
        log.warning("could not enqueue the ingest of run %s", run_id, exc_info=True)


def on_job_ended(*, job_id: int, **_) -> None:
    """A run's job ended (scheduler's job_ended): ingest the rest now, not at beat's next sweep."""
    for run_id in PrelabelRun.objects.filter(job_id=job_id, state=PrelabelState.RUNNING).values_list("pk", flat=True):
        prelabel_enqueue(run_id=run_id)


def prelabel_sweep() -> int:
    """Beat's round: an ingest for every running run."""
    ids = list(PrelabelRun.objects.filter(state=PrelabelState.RUNNING).values_list("pk", flat=True))
    for run_id in ids:
        prelabel_enqueue(run_id=run_id)
    return len(ids)
