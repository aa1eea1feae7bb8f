"""Who may see and change registered models (docs/models.md "Rights", docs/decisions.md §2).

Members of the model's team and site admins see it; anyone else gets a 404. Researchers and team
admins of the team register models and versions and move aliases; only team admins and site admins
move `production`.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from portal.errors import Invalid
from portal.teams.access import has_role, may_administer_team, teams_visible_to
from portal.teams.models import Role
from training.models import (
    InputStaging,
    ModelAlias,
    ModelVersion,
    Pipeline,
    PipelineRun,
    PredictionRequest,
    PrelabelRun,
    RegisteredModel,
)

NO_SUCH_MODEL = "No such model."
NO_SUCH_VERSION = "No such model version."
NO_SUCH_STAGING = "No such staged job."
NO_SUCH_ALIAS = "No such alias."
NO_SUCH_PREDICTION = "No such prediction request."
SEVERAL_MODELS = "Several of your teams have a model named {name!r}; name the team with ?team=<id>."
NO_SUCH_PIPELINE_RUN = "No such pipeline run."
NO_SUCH_PIPELINE = "No such pipeline."
MAY_NOT_CHANGE_PIPELINES = "Only researchers and team admins of the team create and change its pipelines."
NO_SUCH_RUN = "No such pre-label run."
MAY_NOT_REGISTER = "Only researchers and team admins of the team register models."
MAY_NOT_MOVE_PRODUCTION = "Only team admins and site admins move the production alias."
PROTECTED_ALIASES = ("production",)


def models_visible_to(user):
    return RegisteredModel.objects.filter(team__in=teams_visible_to(user))


def access_model_for_user(user, model_id) -> RegisteredModel:
    model = models_visible_to(user).filter(pk=model_id).first()
    if model is None:
        raise Http404(NO_SUCH_MODEL)
    return model


def may_register(user, team_id: int) -> bool:
    return may_administer_team(user, team_id) or has_role(user, team_id, Role.RESEARCHER)


def check_may_register(user, team_id: int) -> None:
    if not may_register(user, team_id):
        raise PermissionDenied(MAY_NOT_REGISTER)


def check_may_move_alias(user, model: RegisteredModel, alias: str) -> None:
    if alias in PROTECTED_ALIASES:
        if not may_administer_team(user, model.team_id):
            raise PermissionDenied(MAY_NOT_MOVE_PRODUCTION)
    else:
        check_may_register(user, model.team_id)


def stagings_visible_to(user):
    """Staged jobs are seen as jobs are: by the team and site admins (docs/decisions.md §2)."""
    return InputStaging.objects.filter(team__in=teams_visible_to(user))


def access_staging_for_user(user, staging_id) -> InputStaging:
    staging = stagings_visible_to(user).select_related("export", "model_version").filter(pk=staging_id).first()
    if staging is None:
        raise Http404(NO_SUCH_STAGING)
    return staging


def access_model_by_name(user, name: str, *, team_id: int | None = None) -> RegisteredModel:
    """A visible model by its name (unique in its team); with several visible teams holding the name, the
    caller names the team."""
    found = models_visible_to(user).filter(name=name)
    if team_id is not None:
        found = found.filter(team_id=team_id)
    models = list(found[:2])
    if not models:
        raise Http404(NO_SUCH_MODEL)
    if len(models) > 1:
        raise Invalid({"team": [SEVERAL_MODELS.format(name=name)]})
    return models[0]


def access_served_version(
    user, name: str, *, alias: str | None = None, number: int | None = None, team_id: int | None = None
) -> ModelVersion:
    """The version a predict request names: by alias (resolved now, so a moved alias applies at once) or
    by number."""
    model = access_model_by_name(user, name, team_id=team_id)
    if alias is not None:
        found = ModelAlias.objects.filter(model=model, name=alias).select_related("version__model").first()
        if found is None:
            raise Http404(NO_SUCH_ALIAS)
        return found.version
    version = ModelVersion.objects.filter(model=model, number=number).select_related("model").first()
    if version is None:
        raise Http404(NO_SUCH_VERSION)
    return version


def access_prediction_for_user(user, request_id) -> PredictionRequest:
    found = PredictionRequest.objects.filter(team__in=teams_visible_to(user), pk=request_id)
    request = found.select_related("model_version__model").first()
    if request is None:
        raise Http404(NO_SUCH_PREDICTION)
    return request


def pipelines_visible_to(user):
    """A team's pipelines are seen by its members and site admins, as its models are."""
    return Pipeline.objects.filter(team__in=teams_visible_to(user))


def access_pipeline_for_user(user, pipeline_id) -> Pipeline:
    pipeline = pipelines_visible_to(user).filter(pk=pipeline_id).first()
    if pipeline is None:
        raise Http404(NO_SUCH_PIPELINE)
    return pipeline


def teams_may_change_pipelines(user) -> list:
    """The teams whose pipelines `user` creates and changes (researchers and team admins)."""
    return [team for team in teams_visible_to(user).order_by("name") if may_register(user, team.pk)]


def check_may_change_pipelines(user, team_id: int) -> None:
    if not may_register(user, team_id):
        raise PermissionDenied(MAY_NOT_CHANGE_PIPELINES)


def runs_visible_to(user):
    """Pre-label runs are seen as jobs are: by the team and site admins (docs/decisions.md §2)."""
    return PrelabelRun.objects.filter(team__in=teams_visible_to(user))


def access_run_for_user(user, run_id) -> PrelabelRun:
    run = runs_visible_to(user).select_related("model_version__model", "dataset", "job").filter(pk=run_id).first()
    if run is None:
        raise Http404(NO_SUCH_RUN)
    return run


def pipeline_runs_visible_to(user):
    """A pipeline's runs are seen with the pipeline: by its team's members and site admins."""
    return PipelineRun.objects.filter(pipeline__team__in=teams_visible_to(user))


def access_pipeline_run_for_user(user, run_id) -> PipelineRun:
    found = pipeline_runs_visible_to(user).select_related("pipeline", "spec_version", "started_by")
    run = found.filter(pk=run_id).first()
    if run is None:
        raise Http404(NO_SUCH_PIPELINE_RUN)
    return run
