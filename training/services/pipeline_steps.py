"""What each step type does when the advance loop starts it, and how it learns that it finished.

`step_key_inputs` gives what a step's cache key hashes (its resolved mutable references, its code and
its inputs' sha256), `step_start` does the step's work or starts it (a job, an export, a pre-label run),
`step_poll` looks at what a started step waits on. Every call acts with the rights of the run's starter
(`run.started_by`), checked by the service it calls, so a step a person may not do fails with that
service's reason. Artifacts are references with their sha256 (docs/pipelines.md "Artifacts"):

    {"kind": "dataset_version", "id": 7, "sha256": <content hash>}
    {"kind": "export", "id": 3, "version": 7, "sha256": <the zip's sha256>}
    {"kind": "checkpoint" | "metrics" | "file", "job": 12, "path": "model.pt", "sha256": …}   (+ "values" for metrics)
    {"kind": "model_version", "id": 4, "model": "strips", "number": 2, "sha256": <the checkpoint's sha256>}
"""

import contextlib
import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404

from labeling import access as labeling_access
from labeling import storage as labeling_storage
from labeling.formats import OptionsInvalid, options_parse
from labeling.models import DatasetVersion, ExportJob, ExportState
from labeling.selectors.versions import version_ref
from labeling.services.exports import export_create
from labeling.services.versions import version_freeze, working_content_hash
from portal.errors import ApplicationError
from scheduler.models import Job, JobState
from scheduler.selectors.jobs import job_output_file
from scheduler.services.jobs import job_submit
from training.models import (
    FileRole,
    ModelAlias,
    ModelVersion,
    PrelabelRun,
    PrelabelState,
    RegisteredModel,
    StepRun,
)
from training.pipelines.gate import gate_check, gate_parse
from training.pipelines.spec import StepSpec
from training.selectors.registry import version_folder
from training.services import prelabel as prelabel_service
from training.services.registry import alias_move, model_create, version_register
from training.services.staging import (
    export_unpacked,
    job_inputs_folder,
    link_tree,
    readable_link_or_copy,
    reusable_export,
)

DEFAULT_SEED = 0
EXPORT_FAILED = "The export of dataset version {version} failed: {error}"
OUTPUT_MISSING = "The job succeeded but did not write its declared output “{name}” ({path})."
METRICS_NOT_NUMBERS = "{path} is not a JSON object of metrics: {error}"
CODE_MISSING = "Code file {path} (declared under `code:`) does not exist in the working directory {root}."
GATE_FAILED = "The gate did not pass: {reason}."
NO_STARTER = "The person who started this run no longer exists."
JOB_ENDED = "Its job {job} ended {state}: {reason}"
PRELABEL_FAILED = "The pre-label run {run} failed: {error}"
PRELABEL_CANCELLED = "The pre-label run {run} was cancelled. {error}"
ONE_VERSION_INPUT = (
    "A job step takes at most one dataset version ({names}); export the others with dataset.export steps."
)
DATA_FOLDER = "data"  # train and evaluate read their dataset as ATELIER_INPUT_DATA (examples/train_detector.py)


class StepFailed(Exception):
    """The step cannot succeed (its message is the step's reason); a job step's failed job raises JobFailed."""


class JobFailed(StepFailed):
    """The step's job ended without success: retried while the step's retries allow."""


@dataclass
class StepContext:
    step: StepRun
    spec: StepSpec
    user: object
    team_id: int
    parameters: dict  # run parameters substituted
    inputs: dict[str, dict]  # input name → the artifact reference it takes


# --- the cache key's ingredients ------------------------------------------------------------------


def step_key_inputs(ctx: StepContext) -> tuple[dict, dict, bool]:
    """(resolved mutable references, code version, whether the step may be cached at all)."""
    if ctx.user is None:
        raise StepFailed(NO_STARTER)
    with refusals_fail_the_step():
        return _key_inputs(ctx)


def _key_inputs(ctx: StepContext) -> tuple[dict, dict, bool]:
    kind = ctx.spec.type
    if kind == "dataset.version":
        version = _dataset_version(ctx)
        return {"version": version.pk, "content_hash": version.content_hash}, {}, True
    if kind == "dataset.freeze":
        dataset = _dataset(ctx, ctx.parameters["dataset"], change=True)
        return {"dataset": dataset.pk, "content_hash": _working_hash(dataset)}, {}, True
    if kind == "model.register":
        return {"aliases": _gate_alias_versions(ctx)}, {}, True
    if kind == "alias.move":  # reusable only while the alias still points where an earlier run moved it
        version = _artifact_model_version(ctx.inputs["version"])
        now = ModelAlias.objects.filter(model=version.model, name=ctx.parameters["alias"]).values_list("version_id")
        return {}, {}, now.first() == (version.pk,)
    if ctx.spec.resources is not None and kind != "prelabel":
        code = _code_version(ctx)
        return {}, code, bool(code["files"])
    return {}, {}, True


def _code_version(ctx: StepContext) -> dict:
    root = _working_dir(ctx)
    files = {}
    for path in ctx.parameters.get("code") or []:
        file = (root / str(path)).resolve()
        if root not in file.parents or not file.is_file():
            raise StepFailed(CODE_MISSING.format(path=path, root=root))
        files[str(path)] = _sha256(file)
    resources = ctx.spec.resources
    return {
        "command": ctx.parameters["command"],
        "env": ctx.parameters.get("env") or {},
        "environment": resources.environment,
        "files": files,
    }


# --- start ----------------------------------------------------------------------------------------


def step_start(ctx: StepContext) -> dict | None:
    """Do the step, or start what it waits on; the outputs when it is done at once, else None."""
    if ctx.user is None:
        raise StepFailed(NO_STARTER)
    with refusals_fail_the_step():
        return _STARTS[ctx.spec.type](ctx)


@contextlib.contextmanager
def refusals_fail_the_step():
    """A service's refusal (403, 404, 400, 409…) becomes the step's failure, with the refusal's message."""
    try:
        yield
    except (PermissionDenied, Http404, ObjectDoesNotExist, ValidationError, ApplicationError) as refused:
        raise StepFailed(_reason(refused)) from None


def _start_dataset_version(ctx: StepContext) -> dict:
    return {"version": _version_artifact(_dataset_version(ctx))}


def _start_freeze(ctx: StepContext) -> dict:
    dataset = _dataset(ctx, ctx.parameters["dataset"], change=True)
    note = ctx.parameters.get("note") or f"Frozen by pipeline run {ctx.step.run_id}"
    version, _ = version_freeze(dataset=dataset, user=ctx.user, seed=DEFAULT_SEED, note=note)
    return {"version": _version_artifact(version)}


def _start_export(ctx: StepContext) -> dict | None:
    version = _input_version(ctx.inputs["version"], ctx)
    export = _export_for(ctx, version, ctx.parameters["format"], ctx.parameters.get("options") or {})
    ctx.step.export = export
    return {"export": _export_artifact(export)} if export.state == ExportState.SUCCEEDED else None


def _start_job(ctx: StepContext) -> None:
    versions = [name for name, artifact in ctx.inputs.items() if artifact["kind"] == "dataset_version"]
    if len(versions) > 1:
        raise StepFailed(ONE_VERSION_INPUT.format(names=", ".join(versions)))
    if versions:  # a dataset version reaches a job unpacked from an export, made (or reused) first
        version = _input_version(ctx.inputs[versions[0]], ctx)
        fmt = ctx.parameters.get("export_format") or "coco"
        options = ctx.parameters.get("export_options") or {"include_images": True}
        ctx.step.export = _export_for(ctx, version, fmt, options)
        if ctx.step.export.state != ExportState.SUCCEEDED:
            return None
    _job_submit(ctx)
    return None


def _start_register(ctx: StepContext) -> dict:
    checkpoint = ctx.inputs["checkpoint"]
    metrics = (ctx.inputs.get("metrics") or {}).get("values")
    gate = ctx.parameters.get("gate") or ""
    if gate:
        aliases = {
            alias: (ModelVersion.objects.get(pk=version_id).metrics if version_id else None)
            for alias, version_id in _gate_alias_versions(ctx).items()
        }
        outcome = gate_check(gate_parse(gate), metrics=metrics or {}, alias_metrics=aliases)
        if not outcome.passed:
            raise StepFailed(GATE_FAILED.format(reason=outcome.reason))
    model = _model_named(ctx, ctx.parameters["model"], create=True)
    job = Job.objects.get(pk=checkpoint["job"])
    config = "config.json" if job_output_file(job=job, relative="config.json") else ""
    version = version_register(
        user=ctx.user,
        model=model,
        job=job,
        checkpoint=checkpoint["path"],
        format=ctx.parameters.get("format") or "torch_state_dict",
        config_file=config,
        tags=ctx.parameters.get("tags") or [],
        metrics=metrics,
        params={"pipeline_run": ctx.step.run_id, "step": ctx.step.name},
    )
    return {"version": _model_version_artifact(version)}


def _start_alias(ctx: StepContext) -> dict:
    version = _artifact_model_version(ctx.inputs["version"])
    alias_move(user=ctx.user, model=version.model, alias=ctx.parameters["alias"], number=version.number)
    return {}


def _start_prelabel(ctx: StepContext) -> None:
    model_version = _artifact_model_version(ctx.inputs["model"])
    dataset_version = _input_version(ctx.inputs["dataset"], ctx)
    resources = ctx.spec.resources
    run = prelabel_service.prelabel_run_start(
        user=ctx.user,
        model_id=model_version.model_id,
        dataset_id=dataset_version.dataset_id,
        version=model_version.number,
        dataset_version_id=dataset_version.pk,  # the version's items, as they are now
        threshold=ctx.parameters.get("threshold", 0.3),
        classes=ctx.parameters.get("classes") or [],
        gpus=resources.gpus,
        time_limit=timedelta(seconds=resources.time_limit_s),
        working_dir=resources.working_dir,
    )
    ctx.step.prelabel_run = run  # its job comes once the run's inputs are staged (_poll_prelabel)
    return None


_STARTS = {
    "dataset.version": _start_dataset_version,
    "dataset.freeze": _start_freeze,
    "dataset.export": _start_export,
    "job": _start_job,
    "train": _start_job,
    "evaluate": _start_job,
    "model.register": _start_register,
    "alias.move": _start_alias,
    "prelabel": _start_prelabel,
}


# --- poll -----------------------------------------------------------------------------------------


def step_poll(ctx: StepContext) -> dict | None:
    """The outputs of a started step that has finished, None while it runs; StepFailed/JobFailed else."""
    step = ctx.step
    if step.prelabel_run_id is not None:
        return _poll_prelabel(step)
    if step.job_id is None and step.export_id is not None:
        export = ExportJob.objects.get(pk=step.export_id)
        if export.state == ExportState.FAILED:
            raise StepFailed(EXPORT_FAILED.format(version=export.version_id, error=export.error))
        if export.state != ExportState.SUCCEEDED:
            return None
        if ctx.spec.type == "dataset.export":
            return {"export": _export_artifact(export)}
        with refusals_fail_the_step():
            _job_submit(ctx)  # the dataset's export is ready: the job goes
        return None
    job = Job.objects.get(pk=step.job_id)
    if job.state == JobState.SUCCEEDED:
        return _job_outputs(ctx, job)
    ended = JOB_ENDED.format(job=job.pk, state=job.get_state_display().lower(), reason=job.state_reason)
    if job.state in (JobState.FAILED, JobState.TIMED_OUT):
        raise JobFailed(ended)
    if job.state == JobState.CANCELLED:  # someone stopped it on purpose: not retried
        raise StepFailed(ended)
    return None


def _poll_prelabel(step: StepRun) -> dict | None:
    run = PrelabelRun.objects.get(pk=step.prelabel_run_id)
    if step.job_id is None and run.job_id is not None:
        StepRun.objects.filter(pk=step.pk).update(job=run.job_id)  # the step's page links the job
    if run.state == PrelabelState.RUNNING and run.job and run.job.ended_at:
        run = prelabel_service.prelabel_ingest(run_id=run.pk) or run  # idempotent: read to the end now
    if run.state == PrelabelState.SUCCEEDED:
        return {}
    if run.state == PrelabelState.FAILED:
        raise JobFailed(PRELABEL_FAILED.format(run=run.pk, error=run.error))
    if run.state == PrelabelState.CANCELLED:  # someone stopped it on purpose: not retried
        raise StepFailed(PRELABEL_CANCELLED.format(run=run.pk, error=run.error).strip())
    return None


def _job_outputs(ctx: StepContext, job: Job) -> dict:
    kind = ctx.spec.type
    if kind == "train":
        return {"checkpoint": _file_artifact(job, "checkpoint", ctx.parameters.get("checkpoint") or "model.pt")}
    if kind == "evaluate":
        return {"metrics": _metrics_artifact(job, ctx.parameters.get("metrics") or "metrics.json")}
    outputs = {}
    for name, output in ctx.spec.outputs.items():
        if output.kind == "metrics":
            outputs[name] = _metrics_artifact(job, output.path)
        else:
            outputs[name] = _file_artifact(job, output.kind, output.path)
    return outputs


# --- jobs and their inputs ------------------------------------------------------------------------


def _job_submit(ctx: StepContext) -> None:
    resources = ctx.spec.resources
    job_inputs: dict[str, str] = {}
    with transaction.atomic():
        job = job_submit(
            user=ctx.user,
            command=ctx.parameters["command"],
            gpus=resources.gpus,
            time_limit=timedelta(seconds=resources.time_limit_s),
            name=f"{ctx.step.run.pipeline.name} · {ctx.step.name} (run {ctx.step.run_id})",
            team_id=ctx.team_id,
            working_dir=str(_working_dir(ctx)),
            env={str(k): str(v) for k, v in (ctx.parameters.get("env") or {}).items()},
            gpu_model=resources.gpu_model,
            min_memory_mb=resources.min_memory_mb,
            environment=resources.environment,
            labels={"pipeline_run": str(ctx.step.run_id), "pipeline_step": ctx.step.name},
        )
        folder = job_inputs_folder(job_id=job.pk)
        try:
            folder.mkdir(mode=0o755, parents=True, exist_ok=True)
            for name, artifact in ctx.inputs.items():
                job_inputs.update(_stage_input(ctx, name, artifact, folder))
            folder.chmod(0o755)  # link_tree closes the folder above its target: only the job's own stays closed
            folder.parent.chmod(0o750)  # until an attempt of this job opens it (scheduler/execution/isolation.py)
        except BaseException:
            shutil.rmtree(folder.parent, ignore_errors=True)
            raise
        job.inputs = job_inputs
        job.save(update_fields=["inputs"])
        ctx.step.job = job


def _stage_input(ctx: StepContext, name: str, artifact: dict, folder: Path) -> dict[str, str]:
    """Link the artifact into the job's closed inputs folder; the job's `inputs` entries for it."""
    kind = artifact["kind"]
    if kind in ("dataset_version", "export"):
        export = ctx.step.export if kind == "dataset_version" else ExportJob.objects.get(pk=artifact["id"])
        target = folder / (DATA_FOLDER if ctx.spec.type in ("train", "evaluate") and name == "dataset" else name)
        link_tree(export_unpacked(export), target)
        version = DatasetVersion.objects.get(pk=export.version_id)
        return {target.name: str(target), "dataset_version": version_ref(version=version)}
    target = folder / name
    target.mkdir(mode=0o755, parents=True, exist_ok=True)
    target.chmod(0o755)
    if kind == "model_version":
        version = _artifact_model_version(artifact)
        for stored in version.files.all():
            readable_link_or_copy(version_folder(version=version) / stored.stored_name, target / stored.name)
        return {name: str(target)}
    source_job = Job.objects.get(pk=artifact["job"])
    source = _output(source_job, artifact["path"])
    readable_link_or_copy(source, target / source.name)
    if kind == "checkpoint" and (config := job_output_file(job=source_job, relative="config.json")):
        readable_link_or_copy(config, target / "config.json")  # a detector's checkpoint is read with its config
    return {name: str(target / source.name)}


# --- artifacts ------------------------------------------------------------------------------------


def artifact_exists(artifact: dict) -> bool:
    """Whether a cached step's artifact is still there to reuse (a pruned output, a deleted version)."""
    kind = artifact["kind"]
    if kind == "dataset_version":
        return DatasetVersion.objects.filter(pk=artifact["id"]).exists()
    if kind == "export":
        export = ExportJob.objects.filter(pk=artifact["id"], state=ExportState.SUCCEEDED).first()
        return (
            export is not None
            and labeling_storage.export_path(dataset_id=export.dataset_id, job_id=export.pk).is_file()
        )
    if kind == "model_version":
        return ModelVersion.objects.filter(pk=artifact["id"]).exists()
    job = Job.objects.filter(pk=artifact["job"]).first()
    return job is not None and job_output_file(job=job, relative=artifact["path"]) is not None


def _version_artifact(version: DatasetVersion) -> dict:
    return {
        "kind": "dataset_version",
        "id": version.pk,
        "dataset": version.dataset_id,
        "number": version.number,
        "sha256": version.content_hash,
    }


def _export_artifact(export: ExportJob) -> dict:
    path = labeling_storage.export_path(dataset_id=export.dataset_id, job_id=export.pk)
    return {
        "kind": "export",
        "id": export.pk,
        "version": export.version_id,
        "format": export.format,
        "sha256": _sha256(path),
    }


def _file_artifact(job: Job, kind: str, relative: str) -> dict:
    return {"kind": kind, "job": job.pk, "path": relative, "sha256": _sha256(_output(job, relative))}


def _metrics_artifact(job: Job, relative: str) -> dict:
    path = _output(job, relative)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise StepFailed(METRICS_NOT_NUMBERS.format(path=relative, error=error)) from None
    if not isinstance(values, dict):
        raise StepFailed(METRICS_NOT_NUMBERS.format(path=relative, error="not an object"))
    return {"kind": "metrics", "job": job.pk, "path": relative, "sha256": _sha256(path), "values": values}


def _model_version_artifact(version: ModelVersion) -> dict:
    checkpoint = version.files.filter(role=FileRole.CHECKPOINT).first()
    return {
        "kind": "model_version",
        "id": version.pk,
        "model": version.model.name,
        "model_id": version.model_id,
        "number": version.number,
        "sha256": checkpoint.sha256 if checkpoint else "",
    }


def _output(job: Job, relative: str) -> Path:
    path = job_output_file(job=job, relative=relative)
    if path is None:
        raise StepFailed(OUTPUT_MISSING.format(name=Path(relative).name, path=relative))
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- lookups with the starter's rights ------------------------------------------------------------


def _dataset(ctx: StepContext, dataset_id: int, *, change: bool = False):
    dataset = labeling_access.access_dataset_for_user(ctx.user, dataset_id)  # another team's: 404
    if change and not labeling_access.may_change_team_datasets(ctx.user, dataset.team_id):
        raise PermissionDenied("Only researchers and team admins of the dataset's team freeze its versions.")
    return dataset


def _dataset_version(ctx: StepContext) -> DatasetVersion:
    dataset = _dataset(ctx, ctx.parameters["dataset"])
    wanted = ctx.parameters.get("version", "latest")
    versions = DatasetVersion.objects.filter(dataset=dataset).order_by("-number")
    version = versions.first() if wanted in ("latest", None) else versions.filter(number=wanted).first()
    if version is None:
        raise StepFailed(f"Dataset {dataset.pk} has no version {wanted}.")
    return version


def _input_version(artifact: dict, ctx: StepContext) -> DatasetVersion:
    version_id = artifact["id"] if artifact["kind"] == "dataset_version" else artifact["version"]
    return labeling_access.access_version_for_user(ctx.user, version_id)


def _working_hash(dataset) -> str:
    try:
        return working_content_hash(dataset=dataset, seed=DEFAULT_SEED)
    except ValidationError as empty:
        raise StepFailed(_reason(empty)) from None


def _export_for(ctx: StepContext, version: DatasetVersion, fmt: str, options: dict) -> ExportJob:
    if not labeling_access.may_change_team_datasets(ctx.user, version.dataset.team_id):
        raise PermissionDenied("Only researchers and team admins of the dataset's team export it in a pipeline.")
    try:
        parsed = options_parse(fmt, options)
    except OptionsInvalid as invalid:
        raise ValidationError(invalid.errors) from None
    found = reusable_export(version=version, format=parsed.format, options=parsed.as_dict())
    return found or export_create(version=version, user=ctx.user, format=parsed.format, options=parsed.as_dict())


def _model_named(ctx: StepContext, name: str, *, create: bool) -> RegisteredModel:
    model = RegisteredModel.objects.filter(team_id=ctx.team_id, name=name).first()
    if model is None and create:
        model = model_create(user=ctx.user, team_id=ctx.team_id, name=name)
    if model is None:
        raise StepFailed(f"The team has no model named {name!r}.")
    return model


def _gate_alias_versions(ctx: StepContext) -> dict[str, int | None]:
    gate = ctx.parameters.get("gate") or ""
    aliases = sorted({c.alias for c in gate_parse(gate) if c.alias}) if gate else []
    model = RegisteredModel.objects.filter(team_id=ctx.team_id, name=ctx.parameters["model"]).first()
    found = (
        dict(ModelAlias.objects.filter(model=model, name__in=aliases).values_list("name", "version_id"))
        if model
        else {}
    )
    return {alias: found.get(alias) for alias in aliases}


def _artifact_model_version(artifact: dict) -> ModelVersion:
    return ModelVersion.objects.select_related("model").get(pk=artifact["id"])


def _working_dir(ctx: StepContext) -> Path:
    chosen = ctx.spec.resources.working_dir if ctx.spec.resources else ""
    root = Path(settings.JOB_WORKDIR_ROOT)
    return (root / chosen).resolve() if chosen else Path(settings.TRAINING_PIPELINE_WORKDIR).resolve()


def _reason(refused: Exception) -> str:
    if isinstance(refused, ValidationError):
        return "; ".join(refused.messages)
    if isinstance(refused, Http404 | ObjectDoesNotExist):
        return "Not found (or not visible to the person who started the run)."
    return str(refused) or type(refused).__name__
