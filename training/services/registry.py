"""Writes of the model registry (docs/models.md): create a model, register a version from a finished
job (files copied into model storage with their sha256, the checkpoint loaded to prove it loads), move an
alias (with its history), delete a version no alias points at.

Nothing is half written: files are copied into a temporary folder first and moved into place inside
the transaction that creates the rows; any refusal removes the temporary folder.
"""

import hashlib
import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from labeling.selectors.versions import version_from_ref
from portal.errors import Conflict, Invalid
from portal.teams.access import access_team_for_user
from scheduler.models import Job, JobState
from scheduler.selectors.jobs import job_output_file
from training.access import check_may_move_alias, check_may_register
from training.checkpoints import checkpoint_load_error
from training.models import (
    AliasMove,
    CheckpointFormat,
    FileRole,
    ModelAlias,
    ModelFile,
    ModelVersion,
    RegisteredModel,
)
from training.selectors.registry import model_storage_root, version_folder

NAME_TAKEN = "Your team already has a model named {name!r}."
JOB_NOT_SUCCEEDED = "Job {job} has not succeeded (it is {state}): register models from succeeded jobs."
JOB_OF_ANOTHER_TEAM = "Job {job} belongs to another team than the model."
JOB_NAMES_NO_VERSION = (
    "Job {job} names no dataset version in its inputs, so the model's lineage is unknown; "
    "register from a job submitted with a dataset version."
)
JOB_NAMES_SEVERAL_VERSIONS = "Job {job} names several dataset versions in its inputs; say which one it trained on."
VERSION_NOT_THE_JOBS = "Dataset version {version} is not the one job {job} was given (its inputs name {named})."
VERSION_OF_ANOTHER_TEAM = "Dataset version {version} belongs to another team than the model."
NO_SUCH_OUTPUT = "{name!r} is not among the outputs of job {job}."
OUTPUT_TOO_LARGE = "{name!r} is {size} bytes, over the limit of {limit} bytes per model file."
DOES_NOT_LOAD = "{name!r} does not load as a {format}: {error}"
METRICS_NOT_JSON = "{name!r} is not a JSON object of metrics: {error}"
ALIASED_VERSION = "Version {number} is what {aliases} point at; move the alias first."
NO_SUCH_VERSION_NUMBER = "This model has no version {number}."
BAD_ALIAS = "An alias is 1 to 64 letters, digits, '-' or '_', not a number."


def model_create(*, user, team_id: int, name: str, description: str = "", tags: list[str] | None = None):
    access_team_for_user(user, team_id)  # a team one is not in is a 404, as everywhere
    check_may_register(user, team_id)
    try:
        with transaction.atomic():
            return RegisteredModel.objects.create(
                team_id=team_id, name=name, description=description, tags=list(tags or []), created_by=user
            )
    except IntegrityError:
        raise Invalid({"name": [NAME_TAKEN.format(name=name)]}) from None


@dataclass(frozen=True)
class _StagedFile:
    role: str
    name: str
    stored_name: str
    sha256: str
    byte_size: int


def version_register(
    *,
    user,
    model: RegisteredModel,
    job: Job,
    checkpoint: str,
    format: str,
    metrics_file: str = "",
    config_file: str = "",
    dataset_version_id: int | None = None,
    params: dict | None = None,
    tags: list[str] | None = None,
    metrics: dict | None = None,
) -> ModelVersion:
    """A new version of `model` from the outputs of a succeeded `job` of the model's team; `metrics`, when
    given, are the version's metrics instead of the job's metrics file (a pipeline's evaluate step)."""
    check_may_register(user, model.team_id)
    dataset_version = _job_dataset_version(model=model, job=job, chosen_id=dataset_version_id)
    chosen = {FileRole.CHECKPOINT: checkpoint, FileRole.METRICS: metrics_file, FileRole.CONFIG: config_file}
    sources = {role: _output_path(job=job, role=role, name=name) for role, name in chosen.items() if name}
    staging = model_storage_root() / f"tmp-{uuid.uuid4().hex}"
    try:
        files = [_stage(source, role=role, name=chosen[role], staging=staging) for role, source in sources.items()]
        _check_loads(staging / _stored_name(FileRole.CHECKPOINT, checkpoint), name=checkpoint, format=format)
        metrics = _metrics_from(staging, files) if metrics is None else metrics
        return _version_store(
            user=user,
            model=model,
            job=job,
            dataset_version=dataset_version,
            format=format,
            params=params or {},
            metrics=metrics,
            tags=tags or [],
            files=files,
            staging=staging,
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _job_dataset_version(*, model: RegisteredModel, job: Job, chosen_id: int | None):
    if job.team_id != model.team_id:
        raise Invalid({"job": [JOB_OF_ANOTHER_TEAM.format(job=job.pk)]})
    if job.state != JobState.SUCCEEDED:
        raise Invalid({"job": [JOB_NOT_SUCCEEDED.format(job=job.pk, state=job.state)]})
    named = [v for v in (version_from_ref(ref) for ref in (job.inputs or {}).values()) if v is not None]
    if not named:
        raise Invalid({"job": [JOB_NAMES_NO_VERSION.format(job=job.pk)]})
    if chosen_id is None and len(named) > 1:
        raise Invalid({"dataset_version": [JOB_NAMES_SEVERAL_VERSIONS.format(job=job.pk)]})
    version = named[0] if chosen_id is None else next((v for v in named if v.pk == chosen_id), None)
    if version is None:
        names = ", ".join(str(v.pk) for v in named)
        raise Invalid({"dataset_version": [VERSION_NOT_THE_JOBS.format(version=chosen_id, job=job.pk, named=names)]})
    if version.dataset.team_id != model.team_id:
        raise Invalid({"dataset_version": [VERSION_OF_ANOTHER_TEAM.format(version=version.pk)]})
    return version


def _output_path(*, job: Job, role: str, name: str) -> Path:
    field = "checkpoint" if role == FileRole.CHECKPOINT else f"{role}_file"
    path = job_output_file(job=job, relative=name)
    if path is None:
        raise Invalid({field: [NO_SUCH_OUTPUT.format(name=name, job=job.pk)]})
    size = path.stat().st_size
    if size > settings.MODEL_MAX_FILE_BYTES:
        limit = settings.MODEL_MAX_FILE_BYTES
        raise Invalid({field: [OUTPUT_TOO_LARGE.format(name=name, size=size, limit=limit)]}, limit=limit)
    return path


def _stored_name(role: str, name: str) -> str:
    # The role decides the stored name: the job's own path never becomes a path in model storage.
    return f"{role}{Path(name).suffix[:16]}"


def _stage(source: Path, *, role: str, name: str, staging: Path) -> _StagedFile:
    staging.mkdir(mode=0o700, parents=True, exist_ok=True)
    stored_name = _stored_name(role, name)
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as src, (staging / stored_name).open("wb") as dst:
        while chunk := src.read(1024 * 1024):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
    return _StagedFile(role=role, name=name, stored_name=stored_name, sha256=digest.hexdigest(), byte_size=size)


def _check_loads(path: Path, *, name: str, format: str) -> None:
    """Load the checkpoint as its format says, on the CPU: what does not load is refused with the loader's words."""
    error = checkpoint_load_error(str(path), format)
    if error:
        label = CheckpointFormat(format).label
        raise Invalid({"checkpoint": [DOES_NOT_LOAD.format(name=name, format=label, error=error)]})


def _metrics_from(staging: Path, files: list[_StagedFile]) -> dict:
    staged = next((f for f in files if f.role == FileRole.METRICS), None)
    if staged is None:
        return {}
    try:
        metrics = json.loads((staging / staged.stored_name).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid({"metrics_file": [METRICS_NOT_JSON.format(name=staged.name, error=exc)]}) from None
    if not isinstance(metrics, dict):
        raise Invalid({"metrics_file": [METRICS_NOT_JSON.format(name=staged.name, error="not an object")]})
    return metrics


def _version_store(*, user, model, job, dataset_version, format, params, metrics, tags, files, staging):
    moved_to = None
    try:
        with transaction.atomic():
            # The UPDATE locks the model's row until commit (PostgreSQL; SQLite's IMMEDIATE transaction
            # serialises writers already): two registrations never read the same number. The unique
            # (model, number) constraint is the backstop.
            RegisteredModel.objects.filter(pk=model.pk).update(last_version_number=F("last_version_number") + 1)
            number = RegisteredModel.objects.values_list("last_version_number", flat=True).get(pk=model.pk)
            version = ModelVersion.objects.create(
                model=model,
                number=number,
                format=format,
                params=params,
                metrics=metrics,
                tags=list(tags),
                dataset_version=dataset_version,
                job=job,
                registered_by=user,
            )
            ModelFile.objects.bulk_create(
                ModelFile(
                    version=version,
                    role=f.role,
                    name=f.name,
                    stored_name=f.stored_name,
                    sha256=f.sha256,
                    byte_size=f.byte_size,
                )
                for f in files
            )
            folder = version_folder(version=version)
            folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            shutil.rmtree(folder, ignore_errors=True)  # a leftover of a crashed registration with this number
            staging.rename(folder)
            moved_to = folder
    except BaseException:
        if moved_to is not None:  # the rows rolled back: their files go too
            shutil.rmtree(moved_to, ignore_errors=True)
        raise
    return version


def _version_by_number(model: RegisteredModel, number: int) -> ModelVersion:
    version = model.versions.filter(number=number).first()
    if version is None:
        raise Invalid({"version": [NO_SUCH_VERSION_NUMBER.format(number=number)]})
    return version


def alias_move(*, user, model: RegisteredModel, alias: str, number: int) -> ModelAlias:
    """Point `alias` at version `number` of the same model, and record the move (append-only)."""
    if not alias or len(alias) > 64 or alias.isdigit() or not all(c.isalnum() or c in "-_" for c in alias):
        raise Invalid({"alias": [BAD_ALIAS]})
    check_may_move_alias(user, model, alias)
    with transaction.atomic():
        RegisteredModel.objects.select_for_update().filter(pk=model.pk).first()
        version = _version_by_number(model, number)
        current = model.aliases.select_related("version").filter(name=alias).first()
        from_number = current.version.number if current else None
        if current is None:
            current = ModelAlias.objects.create(model=model, name=alias, version=version)
        else:
            current.version = version
            current.save(update_fields=["version", "updated_at"])
        AliasMove.objects.create(model=model, alias=alias, from_number=from_number, to_number=number, moved_by=user)
    return current


def version_delete(*, user, version: ModelVersion) -> None:
    """Delete a version and its stored files; refused (409) while an alias points at it."""
    check_may_register(user, version.model.team_id)
    with transaction.atomic():
        aliases = sorted(version.aliases.values_list("name", flat=True))
        if aliases:
            names = ", ".join(f"@{a}" for a in aliases)
            raise Conflict(ALIASED_VERSION.format(number=version.number, aliases=names), conflicts=aliases)
        folder = version_folder(version=version)
        version.delete()
    shutil.rmtree(folder, ignore_errors=True)
