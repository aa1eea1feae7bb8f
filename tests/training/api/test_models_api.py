"""/api/v1/models/: who registers, who moves aliases, what another team sees, and a bad checkpoint
refused with nothing written."""

import pytest

from tests.actors import api_client_for
from tests.training.conftest import stored_files, write_output
from training import access
from training.models import ModelVersion


def create_model(user, team, name="detector"):
    return api_client_for(user).post("/api/v1/models/", {"team": team.pk, "name": name}, format="json")


def register(user, model_id, job, **fields):
    body = {"job": job.pk, "checkpoint": "model.pt", "metrics_file": "metrics.json"} | fields
    return api_client_for(user).post(f"/api/v1/models/{model_id}/versions/", body, format="json")


def move(user, model_id, alias, number):
    return api_client_for(user).put(f"/api/v1/models/{model_id}/aliases/{alias}/", {"version": number}, format="json")


@pytest.fixture
def model_id(researcher, team_a):
    response = create_model(researcher, team_a)
    assert response.status_code == 201, response.json()
    assert response["Location"] == f"/api/v1/models/{response.json()['id']}/"
    return response.json()["id"]


def test_a_researcher_registers_a_version_with_its_lineage(researcher, model_id, trained_job, dataset_version):
    response = register(researcher, model_id, trained_job)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["number"], body["job"], body["dataset_version"]) == (1, trained_job.pk, dataset_version.pk)
    assert body["metrics"] == {"map50": 0.42}
    assert {f["role"] for f in body["files"]} == {"checkpoint", "metrics"}
    listed = api_client_for(researcher).get(f"/api/v1/models/{model_id}/versions/").json()
    assert [v["number"] for v in listed] == [1]


def test_an_annotator_may_not_create_a_model(annotator, team_a):
    response = create_model(annotator, team_a)
    assert response.status_code == 403
    assert response.json()["detail"] == access.MAY_NOT_REGISTER


def test_production_moves_only_for_team_admins(researcher, team_admin, admin, model_id, trained_job):
    register(researcher, model_id, trained_job)

    refused = move(researcher, model_id, "production", 1)
    assert refused.status_code == 403
    assert refused.json()["detail"] == access.MAY_NOT_MOVE_PRODUCTION

    assert move(researcher, model_id, "staging", 1).status_code == 200
    moved = move(team_admin, model_id, "production", 1)
    assert moved.status_code == 200 and moved.json()["version"] == 1
    assert move(admin, model_id, "production", 1).status_code == 200

    detail = api_client_for(researcher).get(f"/api/v1/models/{model_id}/").json()
    assert {a["name"]: a["version"] for a in detail["aliases"]} == {"production": 1, "staging": 1}
    assert [(m["alias"], m["moved_by"]) for m in detail["alias_history"]] == [
        ("production", "admin"),
        ("production", "lead"),
        ("staging", "researcher"),
    ]


def test_another_teams_model_answers_404(researcher, outsider, model_id, trained_job):
    register(researcher, model_id, trained_job)
    client = api_client_for(outsider)

    assert client.get(f"/api/v1/models/{model_id}/").status_code == 404
    assert client.get(f"/api/v1/models/{model_id}/versions/1/").status_code == 404
    assert client.delete(f"/api/v1/models/{model_id}/versions/1/").status_code == 404
    assert move(outsider, model_id, "staging", 1).status_code == 404
    assert register(outsider, model_id, trained_job).status_code == 404
    assert client.get("/api/v1/models/").json()["results"] == []


def test_another_teams_job_answers_404(researcher, outsider, team_b, trained_job):
    own = create_model(outsider, team_b).json()["id"]

    response = register(outsider, own, trained_job)

    assert response.status_code == 404


def test_a_checkpoint_that_does_not_load_is_a_400_and_nothing_is_written(researcher, model_id, trained_job):
    write_output(trained_job, "broken.pt", b"\x00garbage")

    response = register(researcher, model_id, trained_job, checkpoint="broken.pt")

    assert response.status_code == 400
    message = response.json()["errors"]["checkpoint"][0]
    assert message.startswith("'broken.pt' does not load as a torch state_dict: ")
    assert not ModelVersion.objects.exists()
    assert stored_files() == []


def test_a_missing_file_is_a_400_naming_it(researcher, model_id, trained_job):
    response = register(researcher, model_id, trained_job, checkpoint="../etc/passwd")

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "checkpoint": [f"'../etc/passwd' is not among the outputs of job {trained_job.pk}."]
    }


def test_an_aliased_version_is_not_deleted(researcher, model_id, trained_job):
    register(researcher, model_id, trained_job)
    move(researcher, model_id, "staging", 1)
    client = api_client_for(researcher)

    refused = client.delete(f"/api/v1/models/{model_id}/versions/1/")

    assert refused.status_code == 409 and refused.json()["conflicts"] == ["staging"]
    assert client.get(f"/api/v1/models/{model_id}/versions/1/").status_code == 200


def test_an_alias_to_a_version_the_model_does_not_have_is_a_400(researcher, model_id):
    response = move(researcher, model_id, "staging", 3)

    assert response.status_code == 400
    assert response.json()["errors"] == {"version": ["This model has no version 3."]}
