"""The model registry's pages: the list of models, a model with its versions, aliases and their
history, one version with its lineage back to the dataset, registering a succeeded job's outputs (the
job page's "Register model" button), the "Lineage" section of a dataset version's page, and training a
model on a dataset version (a staged job, docs/models.md "Inputs staged for jobs") with its status page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse

from labeling import access as labeling_access
from labeling.models import DatasetVersion
from labeling.selectors.datasets import datasets_for_user
from labeling.version_sections import VersionSection
from portal.errors import Conflict
from portal.inputs import is_id_text
from scheduler.access import access_job_for_user
from scheduler.job_form import job_fields_from_post
from scheduler.models import JOB_FINAL_STATES, JobState, Priority, RuntimeEnvironment
from scheduler.selectors.fleet import gpu_models
from scheduler.selectors.jobs import job_outputs
from scheduler.services.environments import environment_default
from training import access
from training.models import CheckpointFormat, PrelabelState, StagingState
from training.selectors import lineage as lineage_selectors
from training.selectors import pipelines as pipeline_selectors
from training.selectors import registry as registry_selectors
from training.selectors.acceptance import model_version_acceptance
from training.services import pipeline_runs as pipeline_run_services
from training.services import pipelines as pipeline_services
from training.services import prelabel as prelabel_services
from training.services import registry as registry_services
from training.services import staging as staging_services

REGISTER_MODEL = "Register model"
CHOOSE_ITEMS = "Choose the items to pre-label: a dataset, or a version of one."
NO_JOB = "Register a model from a job: open a succeeded job and use its Register model button."


def register_model_action(user, job) -> list[tuple[str, str]]:
    """The job page's button (scheduler.job_actions): a succeeded job, a viewer who may register."""
    if job.state != JobState.SUCCEEDED or not access.may_register(user, job.team_id):
        return []
    return [(REGISTER_MODEL, f"{reverse('model-register')}?job={job.pk}")]


def lineage_section(user, version) -> VersionSection:
    """The dataset version page's "Lineage" (labeling.version_sections): jobs that read the version and
    the model versions registered from them."""
    lineage = lineage_selectors.dataset_version_lineage(version=version, viewer=user)
    return VersionSection(
        html_id="lineage",
        title="Lineage",
        template="training/version_lineage.html",
        data={
            "lineage": lineage,
            "may_train": labeling_access.may_change_team_datasets(user, version.dataset.team_id),
        },
    )


@login_required
def model_list(request):
    models = access.models_visible_to(request.user).select_related("team")
    return render(request, "training/models.html", {"models": models})


@login_required
def model_detail(request, pk: int):
    model = access.access_model_for_user(request.user, pk)
    context = {
        "model": model,
        "versions": registry_selectors.versions_of_model(model=model),
        "aliases": registry_selectors.aliases_of_model(model=model),
        "history": registry_selectors.alias_history(model=model),
    }
    return render(request, "training/model.html", context)


@login_required
def model_version_detail(request, pk: int, number: int):
    model = access.access_model_for_user(request.user, pk)
    version = registry_selectors.versions_of_model(model=model).filter(number=number).first()
    if version is None:
        raise Http404(access.NO_SUCH_VERSION)
    context = {
        "model": model,
        "version": version,
        "lineage": lineage_selectors.model_version_lineage(model_version=version),
        "acceptance": model_version_acceptance(version=version),
        "prelabel_targets": _prelabel_targets(request.user, model.team_id),
    }
    return render(request, "training/model_version.html", context)


def _prelabel_targets(user, team_id: int) -> list[tuple[str, str]]:
    """The "Items" choices of the pre-label form: every dataset of the model's team, each followed by its
    versions, as (value, label) with values `dataset:<id>` and `version:<dataset id>:<version id>`."""
    datasets = list(datasets_for_user(user=user).filter(team_id=team_id).order_by("name"))
    versions: dict[int, list] = {}
    for v in DatasetVersion.objects.filter(dataset__in=datasets).order_by("dataset_id", "-number"):
        versions.setdefault(v.dataset_id, []).append(v)
    targets = []
    for dataset in datasets:
        targets.append((f"dataset:{dataset.pk}", f"{dataset.name}: all items"))
        targets += [
            (f"version:{dataset.pk}:{v.pk}", f"{dataset.name}: items of version {v.number}")
            for v in versions.get(dataset.pk, [])
        ]
    return targets


@login_required
def model_register_page(request):
    job_id = request.GET.get("job") or request.POST.get("job") or ""
    if not is_id_text(job_id):
        raise Http404(NO_JOB)
    job = access_job_for_user(request.user, int(job_id))
    if not access.may_register(request.user, job.team_id):
        raise PermissionDenied(access.MAY_NOT_REGISTER)
    if request.method == "POST":
        try:
            version = _register(request, job)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                messages.error(request, f"{field}: {' '.join(errors)}")
        else:
            messages.success(request, f"Registered {version.model.name} version {version.number}.")
            return redirect("model-detail", pk=version.model_id)
    context = {
        "job": job,
        "outputs": job_outputs(job=job),
        "models": access.models_visible_to(request.user).filter(team_id=job.team_id),
        "formats": CheckpointFormat.choices,
        "form": request.POST,
    }
    return render(request, "training/register.html", context)


@transaction.atomic  # a new model's row goes with a refused version: nothing half written
def _register(request, job):
    form = request.POST
    name = form.get("name", "").strip()
    model = access.models_visible_to(request.user).filter(team_id=job.team_id, name=name).first()
    if model is None:
        if not name:
            raise ValidationError({"name": ["Choose a model or name a new one."]})
        model = registry_services.model_create(user=request.user, team_id=job.team_id, name=name)
    return registry_services.version_register(
        user=request.user,
        model=model,
        job=job,
        checkpoint=form.get("checkpoint", ""),
        format=form.get("format", CheckpointFormat.STATE_DICT),
        metrics_file=form.get("metrics_file", ""),
        config_file=form.get("config_file", ""),
    )


# --- Training on a dataset version: a staged job ---------------------------------------------------

TRAIN_FIELDS = {"dataset_version", "export_format", "register_as", "name", "command", "environment", "gpus"}
TRAIN_FIELDS |= {"gpu_model", "time_limit", "priority"}
STATUS_REFRESH_S = 5


@login_required
def train_page(request):
    """The form behind "Train a model on this version": staged_job_submit's arguments, job fields as the
    job submit page has them; the version must be one the person may see (else 404) and train on (403)."""
    source = request.POST if request.method == "POST" else request.GET
    chosen = source.get("version") or source.get("dataset_version") or ""
    if chosen.isdigit():
        version = labeling_access.access_version_for_user(request.user, int(chosen))
        if not labeling_access.may_change_team_datasets(request.user, version.dataset.team_id):
            raise PermissionDenied(staging_services.MAY_NOT_STAGE)
    errors = {}
    if request.method == "POST":
        try:
            staging = _stage(request)
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, "The dataset version is being staged; the job is submitted once it is.")
            return redirect("staging-detail", pk=staging.pk)
    form = request.POST if request.method == "POST" else {}
    context = {
        "versions": _trainable_versions(request.user),
        "chosen_version": chosen,
        "form": form,
        "errors": errors,
        "other_errors": [(f, " ".join(e)) for f, e in errors.items() if f not in TRAIN_FIELDS],
        "priorities": Priority.choices,
        "environments": RuntimeEnvironment.objects.all(),
        "chosen_environment": form.get("environment") or environment_default().name,
        "gpu_models": gpu_models(),
        "default_format": staging_services.DEFAULT_FORMAT,
    }
    return render(request, "training/train.html", context, status=400 if errors else 200)


def _trainable_versions(user):
    """The versions of the datasets of the teams where the person may train (every version is frozen)."""
    datasets = labeling_access.datasets_visible_to(user)
    teams = set(datasets.values_list("team_id", flat=True))
    datasets = datasets.filter(team_id__in=[t for t in teams if labeling_access.may_change_team_datasets(user, t)])
    return (
        DatasetVersion.objects.filter(dataset__in=datasets)
        .select_related("dataset__team")
        .order_by("dataset__name", "-number")
    )


def _stage(request):
    post = request.POST
    version = post.get("dataset_version", "")
    errors = {} if version.isdigit() else {"dataset_version": ["Choose the dataset version to train on."]}
    try:
        job = job_fields_from_post(post)
    except ValidationError as exc:
        errors |= exc.message_dict
    if errors:
        raise ValidationError(errors)
    return staging_services.staged_job_submit(
        user=request.user,
        dataset_version_id=int(version),
        job=job,
        export_format=post.get("export_format", "").strip() or staging_services.DEFAULT_FORMAT,
        register_as=post.get("register_as", "").strip(),
    )


@login_required
def staging_detail(request, pk: int):
    """Where a staged job stands: staging → submitted | failed, then the job and the registered model."""
    staging = access.access_staging_for_user(request.user, pk)
    job = staging.job
    waiting = staging.state == StagingState.STAGING or (
        staging.state == StagingState.SUBMITTED
        and (
            job is None or job.state not in JOB_FINAL_STATES or (staging.register_as and _registration_pending(staging))
        )
    )
    context = {
        "staging": staging,
        "version": staging.dataset_version,
        "job": job,
        "refresh_s": STATUS_REFRESH_S if waiting else None,
    }
    return render(request, "training/staging.html", context)


def _registration_pending(staging) -> bool:
    return staging.job.state == JobState.SUCCEEDED and staging.model_version_id is None and not staging.register_error


@login_required
def prelabel_run_start_page(request, pk: int, number: int):
    """The model version page's "Pre-label a dataset" form posts here: start the run, show it."""
    model = access.access_model_for_user(request.user, pk)
    if request.method != "POST":
        return redirect("model-version-detail", pk=model.pk, number=number)
    try:
        dataset_id, dataset_version_id = _prelabel_target(request.POST.get("items", ""))
        filters = dict(QueryDict(request.POST.get("filter", "").strip().lstrip("?")).items())
        run = prelabel_services.prelabel_run_start(
            user=request.user,
            model_id=model.pk,
            dataset_id=dataset_id,
            version=number,
            threshold=float(request.POST.get("threshold", "0.3")),
            scope="filter" if filters else "all",
            filters=filters,
            dataset_version_id=dataset_version_id,
        )
    except (ValueError, ValidationError) as refused:
        messages.error(request, "; ".join(getattr(refused, "messages", [str(refused)])))
        return redirect("model-version-detail", pk=model.pk, number=number)
    return redirect("prelabel-run-detail", pk=run.pk)


def _prelabel_target(value: str) -> tuple[int, int | None]:
    """(dataset id, version id or None) from a `dataset:<id>` or `version:<dataset id>:<id>` choice."""
    kind, _, ids = value.partition(":")
    parts = ids.split(":")
    if kind == "dataset" and len(parts) == 1 and is_id_text(parts[0]):
        return int(parts[0]), None
    if kind == "version" and len(parts) == 2 and all(is_id_text(p) for p in parts):
        return int(parts[0]), int(parts[1])
    raise ValidationError(CHOOSE_ITEMS)


@login_required
def prelabel_run_cancel_page(request, pk: int):
    """The run page's Cancel button."""
    if request.method != "POST":
        return redirect("prelabel-run-detail", pk=pk)
    try:
        prelabel_services.prelabel_run_cancel(user=request.user, run_id=pk)
    except Conflict as ended:
        messages.error(request, str(ended))
    else:
        messages.success(request, "Cancelled: the job stops within a second; what it predicted before stays.")
    return redirect("prelabel-run-detail", pk=pk)


@login_required
def prelabel_run_detail(request, pk: int):
    """Where a pre-label run stands: its job, state and progress (items ingested of the dataset's)."""
    run = access.access_run_for_user(request.user, pk)
    under_way = run.state in (PrelabelState.STAGING, PrelabelState.RUNNING)
    context = {
        "run": run,
        "refresh_s": 5 if under_way else None,
        "may_cancel": under_way and access.may_register(request.user, run.team_id),
    }
    return render(request, "training/prelabel_run.html", context)


@login_required
def pipeline_runs(request):
    """Run history: every visible run with its pipeline, parameters, trigger and state."""
    runs = access.pipeline_runs_visible_to(request.user).select_related("pipeline", "spec_version", "started_by")
    pipeline = request.GET.get("pipeline", "")
    if is_id_text(pipeline):
        runs = runs.filter(pipeline_id=pipeline)
    return render(request, "training/pipeline_runs.html", {"runs": runs[:200]})


@login_required
def pipeline_run_detail(request, pk: int):
    """A run's live graph and steps; POST cancels it, re-runs it from failure or forgets a step's cache entry."""
    run = access.access_pipeline_run_for_user(request.user, pk)
    if request.method == "POST":
        return _pipeline_run_action(request, run)
    return render(request, "training/pipeline_run.html", _pipeline_run_context(request, run))


@login_required
def pipeline_run_graph(request, pk: int):
    run = access.access_pipeline_run_for_user(request.user, pk)
    return render(request, "training/pipeline_run_graph.html", _pipeline_run_context(request, run))


def _pipeline_run_context(request, run) -> dict:
    return {
        "run": run,
        "graph": pipeline_selectors.run_graph(run=run),
        "may_change": access.may_register(request.user, run.pipeline.team_id),
    }


def _pipeline_run_action(request, run):
    action = request.POST.get("action")
    try:
        if action == "cancel":
            pipeline_run_services.pipeline_run_cancel(user=request.user, run=run)
            messages.success(request, f"Run {run.pk} cancelled; its running jobs are being stopped.")
        elif action == "rerun":
            again = pipeline_run_services.pipeline_run_rerun(user=request.user, run=run)
            return redirect("pipeline-run-detail", pk=again.pk)
        elif action == "forget":
            step = run.steps.filter(name=request.POST.get("step", "")).first()
            if step is None:
                raise Http404("The run has no such step.")
            count = pipeline_run_services.cache_forget(user=request.user, step=step)
            messages.success(request, f"Forgotten: {count} cached result(s) of “{step.name}” will not be reused.")
    except ValidationError as refused:
        messages.error(request, "; ".join(refused.messages))
    return redirect("pipeline-run-detail", pk=run.pk)


# --- pipelines ------------------------------------------------------------------------------------

EXAMPLE_SPEC = """# A pipeline: named steps; inputs come from other steps' outputs, parameters from the run.
parameters:
  dataset: {type: int}
steps:
  freeze:
    type: dataset.freeze
    parameters: {dataset: "{{ params.dataset }}"}
  train:
    type: train
    inputs: {dataset: "{{ steps.freeze.outputs.version }}"}
    parameters:
      command: python examples/train_detector.py --steps 200
      code: [examples/train_detector.py]
    resources: {gpus: 1, time_limit: 2h}
"""


@login_required
def pipeline_list(request):
    pipelines = access.pipelines_visible_to(request.user).select_related("team", "owner")
    rows = [(pipeline, pipeline.runs.select_related("spec_version").first()) for pipeline in pipelines]
    return render(
        request,
        "training/pipelines.html",
        {"rows": rows, "may_create": bool(access.teams_may_change_pipelines(request.user))},
    )


@login_required
def pipeline_new(request):
    teams = access.teams_may_change_pipelines(request.user)
    if not teams:
        raise PermissionDenied(access.MAY_NOT_CHANGE_PIPELINES)
    form = {"team": str(teams[0].pk), "name": "", "spec": EXAMPLE_SPEC}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        form = {key: request.POST.get(key, "") for key in ("team", "name", "spec")}
        if not is_id_text(form["team"]):
            errors = {"team": ["Choose a team."]}
        else:
            try:
                pipeline = pipeline_services.pipeline_create(
                    user=request.user, team_id=int(form["team"]), name=form["name"], text=form["spec"]
                )
                return redirect("pipeline-detail", pk=pipeline.pk)
            except ValidationError as refused:
                errors = refused.message_dict
    context = {"teams": teams, "form": form, "errors": errors, "spec_errors": _spec_errors(errors)}
    return render(request, "training/pipeline_new.html", context)


@login_required
def pipeline_detail(request, pk: int):
    """The pipeline's spec in the editor (validated as one types, saved as a new version), a form to run it
    with its parameters, its versions and its recent runs."""
    pipeline = access.access_pipeline_for_user(request.user, pk)
    latest = pipeline.versions.order_by("-number").first()
    context = {"pipeline": pipeline, "spec_text": latest.source, "run_values": {}, "errors": {}}
    if request.method == "POST":
        response = _pipeline_action(request, pipeline, context)
        if response is not None:
            return response
    errors = context["errors"]
    parameters = [
        p | {"value": context["run_values"].get(p["name"], ""), "errors": errors.get(f"parameters.{p['name']}", [])}
        for p in pipeline_services.spec_parameters(pipeline=pipeline)
    ]
    context |= {
        "latest": pipeline.versions.order_by("-number").first(),
        "versions": pipeline.versions.select_related("created_by")[:50],
        "runs": pipeline.runs.select_related("spec_version", "started_by")[:10],
        "parameters": parameters,
        "spec_errors": _spec_errors(errors),
        "run_errors": [
            text for key, texts in errors.items() if not key.startswith(("spec", "parameters.")) for text in texts
        ],
        "may_change": access.may_register(request.user, pipeline.team_id),
    }
    return render(request, "training/pipeline.html", context)


def _spec_errors(errors: dict) -> dict:
    return {key: texts for key, texts in errors.items() if key == "spec" or key.startswith("spec.")}


def _pipeline_action(request, pipeline, context: dict):
    """A saved spec or a started run redirects; a refusal stays on the page with its errors."""
    try:
        if request.POST.get("action") == "save":
            context["spec_text"] = request.POST.get("spec", "")
            version, created = pipeline_services.pipeline_spec_save(
                user=request.user, pipeline=pipeline, text=context["spec_text"]
            )
            text = (
                f"Saved as version {version.number}." if created else f"Unchanged: version {version.number} holds it."
            )
            messages.success(request, text)
            return redirect("pipeline-detail", pk=pipeline.pk)
        if request.POST.get("action") == "run":
            names = [p["name"] for p in pipeline_services.spec_parameters(pipeline=pipeline)]
            context["run_values"] = {name: request.POST.get(f"param-{name}", "") for name in names}
            given = {name: value for name, value in context["run_values"].items() if value != ""}
            run = pipeline_run_services.pipeline_run_start(
                user=request.user, pipeline=pipeline, parameters=given, use_cache=request.POST.get("use_cache") == "on"
            )
            return redirect("pipeline-run-detail", pk=run.pk)
    except ValidationError as refused:
        context["errors"] = refused.message_dict
    return None


@login_required
def pipeline_version(request, pk: int, number: int):
    pipeline = access.access_pipeline_for_user(request.user, pk)
    version = pipeline.versions.filter(number=number).select_related("created_by").first()
    if version is None:
        raise Http404("This pipeline has no such spec version.")
    return render(request, "training/pipeline_version.html", {"pipeline": pipeline, "version": version})
