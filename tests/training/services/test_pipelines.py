"""Saving pipeline specs: validated whole against the team's limits, versioned by content hash."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from portal.errors import Invalid
from portal.teams.models import TeamQuota
from tests.training.pipelines.specs import LOOP
from training.access import MAY_NOT_CHANGE_PIPELINES
from training.models import PipelineSpecVersion
from training.pipelines import content_hash, parse_text
from training.pipelines import spec as S
from training.services.pipelines import NAME_TAKEN, SPEC_INVALID, pipeline_create, pipeline_spec_save

ONE_STEP = "steps:\n  a: {type: job, parameters: {command: 'true'}}\n"


def test_a_researcher_creates_a_pipeline_whose_first_version_holds_the_spec(researcher, team_a):
    pipeline = pipeline_create(user=researcher, team_id=team_a.pk, name="loop", text=LOOP)
    version = pipeline.versions.get()
    assert (pipeline.owner, version.number, version.source, version.created_by) == (researcher, 1, LOOP, researcher)
    assert version.content_hash == content_hash(parse_text(LOOP)[0]) == content_hash(version.document)


def test_saving_the_same_document_again_writes_nothing_and_a_change_is_the_next_version(researcher, team_a):
    pipeline = pipeline_create(user=researcher, team_id=team_a.pk, name="loop", text=ONE_STEP)
    relaid = "# the same spec, laid out otherwise\nsteps: {a: {parameters: {command: 'true'}, type: job}}"
    same, created = pipeline_spec_save(user=researcher, pipeline=pipeline, text=relaid)
    assert (same.number, created) == (1, False)
    changed, created = pipeline_spec_save(user=researcher, pipeline=pipeline, text=LOOP)
    assert (changed.number, created) == (2, True)
    back, created = pipeline_spec_save(user=researcher, pipeline=pipeline, text=ONE_STEP)
    assert (back.number, created, back.content_hash) == (3, True, same.content_hash)  # history, not a set
    assert list(PipelineSpecVersion.objects.filter(pipeline=pipeline).values_list("number", flat=True)) == [3, 2, 1]


def test_an_invalid_spec_lists_every_problem_under_its_path_and_writes_nothing(researcher, team_a):
    TeamQuota.objects.update_or_create(team=team_a, defaults={"max_concurrent_gpus": 2})
    text = "steps:\n  a: {type: job, parameters: {command: 1}, resources: {gpus: 3}}\n  b: {type: nope}\n"
    with pytest.raises(Invalid) as refused:
        pipeline_create(user=researcher, team_id=team_a.pk, name="", text=text)
    assert refused.value.message_dict == {
        "name": ["Give the pipeline a name (at most 100 characters)."],
        "spec.steps.a.parameters.command": [S.WRONG_TYPE.format(expected="text", got="a whole number")],
        "spec.steps.a.resources.gpus": [S.OVER_GPUS.format(gpus=3, limit=2)],
        "spec.steps.b.type": [S.UNKNOWN_STEP_TYPE.format(type="nope", known=", ".join(S.STEP_TYPES))],
    }
    assert refused.value.detail == SPEC_INVALID.format(count=3)
    assert not PipelineSpecVersion.objects.exists()


def test_an_unknown_environment_is_named_with_the_ones_that_exist(researcher, team_a):
    with pytest.raises(Invalid) as refused:
        pipeline_create(
            user=researcher,
            team_id=team_a.pk,
            name="x",
            text="steps: {a: {type: job, parameters: {command: x}, resources: {environment: nope}}}",
        )
    [message] = refused.value.message_dict["spec.steps.a.resources.environment"]
    assert message.startswith("Unknown environment “nope”; the environments are: ")


def test_names_are_unique_in_a_team(researcher, team_a):
    pipeline_create(user=researcher, team_id=team_a.pk, name="loop", text=ONE_STEP)
    with pytest.raises(Invalid) as refused:
        pipeline_create(user=researcher, team_id=team_a.pk, name="loop", text=ONE_STEP)
    assert refused.value.message_dict == {"name": [NAME_TAKEN.format(name="loop")]}


def test_an_annotator_may_not_and_an_outsider_gets_a_404(annotator, outsider, researcher, team_a):
    with pytest.raises(PermissionDenied, match=MAY_NOT_CHANGE_PIPELINES):
        pipeline_create(user=annotator, team_id=team_a.pk, name="loop", text=ONE_STEP)
    with pytest.raises(Http404):
        pipeline_create(user=outsider, team_id=team_a.pk, name="loop", text=ONE_STEP)
    pipeline = pipeline_create(user=researcher, team_id=team_a.pk, name="loop", text=ONE_STEP)
    with pytest.raises(PermissionDenied):
        pipeline_spec_save(user=annotator, pipeline=pipeline, text=LOOP)
