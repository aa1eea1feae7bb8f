"""GET /api/v1/dataset-versions/{id}/lineage/ and the `lineage` of a model version: both directions,
and another team's version or model is a 404."""

from tests.actors import api_client_for
from tests.training.lineage_builders import build_lineage


def test_a_dataset_versions_lineage_names_its_jobs_and_models(researcher, team_a, dataset_version):
    built = build_lineage(researcher=researcher, team=team_a, version=dataset_version)

    response = api_client_for(researcher).get(f"/api/v1/dataset-versions/{dataset_version.pk}/lineage/")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["dataset_version"] == {
        "id": dataset_version.pk,
        "number": 1,
        "note": "",
        "dataset": dataset_version.dataset_id,
        "dataset_name": "Strips",
    }
    assert [(e["job"]["id"], e["inputs"]) for e in body["jobs"]] == [
        (built.unregistered.pk, ["data", "val"]),
        (built.trained.pk, ["data"]),
    ]
    assert body["jobs"][1]["job"]["state"] == "succeeded" and body["jobs"][1]["job"]["owner"] == "researcher"
    learned = [(mv["model_name"], mv["number"], mv["job"]) for mv in body["model_versions"]]
    assert learned == [("segmenter", 1, built.trained.pk), ("detector", 1, built.trained.pk)]


def test_a_model_versions_detail_carries_its_lineage(researcher, team_a, dataset_version):
    built = build_lineage(researcher=researcher, team=team_a, version=dataset_version)
    model_id = built.detector_v1.model_id

    body = api_client_for(researcher).get(f"/api/v1/models/{model_id}/versions/1/").json()

    assert body["lineage"]["job"]["id"] == built.trained.pk and body["lineage"]["job"]["name"] == "train"
    assert body["lineage"]["dataset_version"]["id"] == dataset_version.pk
    assert body["lineage"]["dataset_version"]["dataset_name"] == "Strips"
    listed = api_client_for(researcher).get(f"/api/v1/models/{model_id}/versions/").json()
    assert listed[0]["lineage"] == body["lineage"]


def test_another_teams_version_and_model_answer_404(researcher, outsider, team_a, dataset_version):
    built = build_lineage(researcher=researcher, team=team_a, version=dataset_version)
    client = api_client_for(outsider)

    assert client.get(f"/api/v1/dataset-versions/{dataset_version.pk}/lineage/").status_code == 404
    assert client.get(f"/api/v1/dataset-versions/{dataset_version.pk + 1000}/lineage/").status_code == 404
    assert client.get(f"/api/v1/models/{built.detector_v1.model_id}/versions/1/").status_code == 404


def test_a_site_admin_reads_any_lineage(admin, researcher, team_a, dataset_version):
    build_lineage(researcher=researcher, team=team_a, version=dataset_version)

    body = api_client_for(admin).get(f"/api/v1/dataset-versions/{dataset_version.pk}/lineage/").json()

    assert len(body["jobs"]) == 2 and len(body["model_versions"]) == 2
