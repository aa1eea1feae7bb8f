"""The model registry's pages: the list of models, a model with its versions, aliases and their
history, one version with its lineage back to the dataset, registering a succeeded job's outputs (the
job page's "Register model" button), and the "Lineage" section of a dataset version's page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from labeling.version_sections import VersionSection
from scheduler.access import access_job_for_user
from scheduler.models import JobState
from scheduler.selectors.jobs import job_outputs
from training import access
from training.models import CheckpointFormat
from training.selectors import lineage as lineage_selectors
from training.selectors import registry as registry_selectors
from training.services import registry as registry_services

REGISTER_MODEL = "Register model"
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
        html_id="lineage", title="Lineage", template="training/version_lineage.html", data={"lineage": lineage}
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
    }
    return render(request, "training/model_version.html", context)


@login_required
def model_register_page(request):
    job_id = request.GET.get("job") or request.POST.get("job") or ""
    if not job_id.isdigit():
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
