"""Writes of pipelines (docs/pipelines.md): create a pipeline, save a new version of its spec.

A spec is validated whole against the team's limits before anything is written; an invalid one is a
400 whose errors list every problem under `spec.<its path in the spec>`. Saving the spec the latest
version already holds (same content hash) writes nothing and returns that version.
"""

from django.db import IntegrityError, transaction
from django.db.models import F

from portal.errors import Invalid
from portal.teams.access import access_team_for_user
from portal.teams.models import TeamQuota
from scheduler.models import RuntimeEnvironment
from scheduler.services.environments import environment_default
from training.access import check_may_change_pipelines
from training.models import Pipeline, PipelineSpecVersion
from training.pipelines import TeamLimits, Validation, content_hash, validate, validate_text

NAME_TAKEN = "Your team already has a pipeline named {name!r}."
NAME_REQUIRED = "Give the pipeline a name (at most 100 characters)."
SPEC_INVALID = "The spec has {count} problem(s); each is listed under its path in the spec."


def team_limits(*, team_id: int) -> TeamLimits:
    """What a step's job may ask for in this team: the quota's limits (none without a quota row, as the
    scheduler reads it) and the runtime environments that exist."""
    environment_default()  # the shipped environment exists before its name is checked
    environments = frozenset(RuntimeEnvironment.objects.values_list("name", flat=True))
    quota = TeamQuota.objects.filter(team_id=team_id).first()
    if quota is None:
        return TeamLimits(environments=environments)
    return TeamLimits(
        max_gpus=quota.max_concurrent_gpus,
        max_time_limit_s=quota.max_booking_hours * 3600.0,
        gpu_hours_per_month=float(quota.gpu_hours_per_month),
        environments=environments,
    )


def spec_check(*, team_id: int, text: str) -> tuple[object, Validation]:
    """The document `text` holds and its validation against the team's limits (nothing written)."""
    return validate_text(text, limits=team_limits(team_id=team_id))


def spec_errors(validation: Validation) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for problem in validation.problems:
        errors.setdefault(f"spec.{problem.path}" if problem.path else "spec", []).append(problem.message)
    return errors


def _checked(*, team_id: int, text: str) -> object:
    document, validation = spec_check(team_id=team_id, text=text)
    if not validation.ok:
        raise Invalid(spec_errors(validation), detail=SPEC_INVALID.format(count=len(validation.problems)))
    return document


def pipeline_create(*, user, team_id: int, name: str, text: str) -> Pipeline:
    access_team_for_user(user, team_id)  # a team one is not in is a 404, as everywhere
    check_may_change_pipelines(user, team_id)
    name = (name or "").strip()
    errors = {} if 0 < len(name) <= 100 else {"name": [NAME_REQUIRED]}
    try:
        document = _checked(team_id=team_id, text=text)
    except Invalid as invalid:
        raise Invalid(errors | invalid.message_dict, detail=invalid.detail) from None
    if errors:
        raise Invalid(errors)
    try:
        with transaction.atomic():
            pipeline = Pipeline.objects.create(team_id=team_id, name=name, owner=user)
            _version_add(pipeline=pipeline, user=user, document=document, text=text)
    except IntegrityError:
        raise Invalid({"name": [NAME_TAKEN.format(name=name)]}) from None
    return pipeline


def pipeline_spec_save(*, user, pipeline: Pipeline, text: str) -> tuple[PipelineSpecVersion, bool]:
    """A new version of the pipeline's spec, or the latest one when it holds the same document."""
    check_may_change_pipelines(user, pipeline.team_id)
    document = _checked(team_id=pipeline.team_id, text=text)
    with transaction.atomic():
        latest = pipeline.versions.order_by("-number").first()
        if latest is not None and latest.content_hash == content_hash(document):
            return latest, False
        return _version_add(pipeline=pipeline, user=user, document=document, text=text), True


def _version_add(*, pipeline: Pipeline, user, document, text: str) -> PipelineSpecVersion:
    # The UPDATE holds the pipeline's row until commit (PostgreSQL; SQLite's IMMEDIATE transaction
    # serialises writers): two saves never read the same number; the unique constraint is the backstop.
    Pipeline.objects.filter(pk=pipeline.pk).update(last_version_number=F("last_version_number") + 1)
    number = Pipeline.objects.values_list("last_version_number", flat=True).get(pk=pipeline.pk)
    return PipelineSpecVersion.objects.create(
        pipeline=pipeline,
        number=number,
        content_hash=content_hash(document),
        document=document,
        source=text,
        created_by=user,
    )


def spec_report(*, team_id: int, text: str) -> dict:
    """What the editor shows as one types: every problem with its path, or the steps in the order they
    can run, their parameters and the content hash (nothing written)."""
    document, validation = spec_check(team_id=team_id, text=text)
    if not validation.ok:
        problems = [{"path": problem.path, "message": problem.message} for problem in validation.problems]
        return {"ok": False, "problems": problems, "steps": [], "parameters": [], "content_hash": ""}
    spec = validation.spec
    return {
        "ok": True,
        "problems": [],
        "steps": [{"name": name, "type": spec.steps[name].type} for name in spec.order],
        "parameters": [
            {
                "name": p.name,
                "type": p.type,
                "default": p.default if p.has_default else None,
                "required": not p.has_default,
            }
            for p in spec.parameters.values()
        ],
        "content_hash": content_hash(document),
    }


def spec_parameters(*, pipeline: Pipeline) -> list[dict]:
    """The run parameters the latest spec declares (for the run form): name, type, default, choices."""
    latest = pipeline.versions.order_by("-number").first()
    validation = validate(latest.document) if latest else None
    if validation is None or validation.spec is None:
        return []
    return [
        {
            "name": p.name,
            "type": p.type,
            "default": p.default if p.has_default else None,
            "required": not p.has_default,
            "choices": list(p.choices),
            "description": p.description,
        }
        for p in validation.spec.parameters.values()
    ]
