"""Pipelines over REST: create with the first spec version, every problem of a bad spec in one 400,
new versions by content, validation for the editor, and another team's pipelines a 404."""

from tests.actors import api_client_for
from tests.training.pipelines.specs import LOOP
from training.models import Pipeline

ONE_STEP = "steps:\n  a: {type: job, parameters: {command: 'true'}}\n"
BAD = "steps:\n  a: {type: job, parameters: {command: 1}}\n  b: {type: nope}\n  c: {type: job, after: [zz], parameters: {command: x}}\n"


def create(user, team, *, name="loop", spec=ONE_STEP):
    return api_client_for(user).post("/api/v1/pipelines/", {"team": team.pk, "name": name, "spec": spec}, format="json")


def test_a_researcher_creates_a_pipeline_and_reads_it_with_its_spec(researcher, team_a):
    response = create(researcher, team_a, spec=LOOP)

    assert response.status_code == 201, response.content
    pipeline = Pipeline.objects.get()
    assert response["Location"] == f"/api/v1/pipelines/{pipeline.pk}/"
    shown = api_client_for(researcher).get(response["Location"]).json()
    assert (shown["name"], shown["owner"], shown["latest"]["number"], shown["latest"]["source"]) == (
        "loop",
        "researcher",
        1,
        LOOP,
    )
    assert [v["number"] for v in shown["versions"]] == [1]
    listed = api_client_for(researcher).get("/api/v1/pipelines/", {"name": "loop"}).json()
    assert [p["id"] for p in listed["results"]] == [pipeline.pk]


def test_an_invalid_spec_is_one_400_listing_every_problem_with_its_path(researcher, team_a):
    response = create(researcher, team_a, spec=BAD)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"spec.steps.a.parameters.command", "spec.steps.b.type", "spec.steps.c.after[0]"}, errors
    assert not Pipeline.objects.exists()


def test_new_versions_by_content_and_reading_one(researcher, team_a):
    pipeline_id = create(researcher, team_a).json()["id"]
    client = api_client_for(researcher)

    same = client.post(f"/api/v1/pipelines/{pipeline_id}/versions/", {"spec": "# same\n" + ONE_STEP}, format="json")
    changed = client.post(f"/api/v1/pipelines/{pipeline_id}/versions/", {"spec": LOOP}, format="json")
    bad = client.post(f"/api/v1/pipelines/{pipeline_id}/versions/", {"spec": BAD}, format="json")

    assert (same.status_code, same.json()["number"]) == (200, 1)
    assert (changed.status_code, changed.json()["number"]) == (201, 2)
    assert changed["Location"] == f"/api/v1/pipelines/{pipeline_id}/versions/2/"
    assert bad.status_code == 400 and "spec.steps.b.type" in bad.json()["errors"]
    assert client.get(f"/api/v1/pipelines/{pipeline_id}/versions/2/").json()["source"] == LOOP
    assert client.get(f"/api/v1/pipelines/{pipeline_id}/versions/9/").status_code == 404


def test_validate_answers_the_problems_or_the_steps_without_saving(researcher, team_a):
    client = api_client_for(researcher)

    bad = client.post("/api/v1/pipelines/validate/", {"team": team_a.pk, "spec": BAD}, format="json").json()
    good = client.post("/api/v1/pipelines/validate/", {"team": team_a.pk, "spec": LOOP}, format="json").json()

    assert bad["ok"] is False and {p["path"] for p in bad["problems"]} == {
        "steps.a.parameters.command",
        "steps.b.type",
        "steps.c.after[0]",
    }
    assert good["ok"] is True and [s["name"] for s in good["steps"]] == [
        "freeze",
        "train",
        "evaluate",
        "register",
        "promote",
    ]
    assert {"name": "dataset", "type": "int", "default": None, "required": True} in good["parameters"]
    assert not Pipeline.objects.exists()


def test_other_teams_and_annotators(researcher, annotator, outsider, team_a):
    pipeline_id = create(researcher, team_a).json()["id"]

    assert api_client_for(outsider).get(f"/api/v1/pipelines/{pipeline_id}/").status_code == 404
    assert api_client_for(outsider).get("/api/v1/pipelines/").json()["count"] == 0
    assert create(outsider, team_a, name="x").status_code == 404
    assert create(annotator, team_a, name="x").status_code == 403
    validate = {"team": team_a.pk, "spec": ONE_STEP}
    assert api_client_for(outsider).post("/api/v1/pipelines/validate/", validate, format="json").status_code == 404
