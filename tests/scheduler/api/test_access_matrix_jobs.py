"""Jobs are team-private (docs/decisions.md §2): other teams get 404; cancel by owner, team admins, site admins."""

import pytest

from tests.actors import api_client_for
from tests.scheduler.factories import fleet


@pytest.fixture
def job_id(db, researcher, team_admin, outsider, annotator, admin):
    fleet(nodes=1, per_node=4)
    response = api_client_for(researcher).post(
        "/api/v1/jobs/", {"command": "true", "gpus": 1, "time_limit": "PT1H"}, format="json"
    )
    return response.json()["id"]


READS = ["/api/v1/jobs/{id}/", "/api/v1/jobs/{id}/attempts/", "/api/v1/jobs/{id}/outputs/"]


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize(
    ("actor", "expected"),
    [("researcher", 200), ("annotator", 200), ("team_admin", 200), ("admin", 200), ("outsider", 404)],
)
def test_reading_a_job(request, job_id, path, actor, expected):
    response = api_client_for(request.getfixturevalue(actor)).get(path.format(id=job_id))
    assert response.status_code == expected


@pytest.mark.parametrize(("actor", "expected"), [("outsider", 404), ("annotator", 403), ("team_admin", 200)])
def test_cancelling_a_job(request, job_id, actor, expected):
    response = api_client_for(request.getfixturevalue(actor)).post(f"/api/v1/jobs/{job_id}/cancel/")
    assert response.status_code == expected


def test_the_site_admin_may_cancel(admin, job_id):
    assert api_client_for(admin).post(f"/api/v1/jobs/{job_id}/cancel/").status_code == 200


def test_lists_show_only_the_users_teams(job_id, outsider, researcher):
    assert api_client_for(outsider).get("/api/v1/jobs/").json()["count"] == 0
    assert api_client_for(researcher).get("/api/v1/jobs/?mine=true").json()["count"] == 1


def test_the_job_page_of_another_team_is_a_404(client, job_id, outsider, researcher):
    client.force_login(outsider)
    assert client.get(f"/jobs/{job_id}/").status_code == 404
    client.force_login(researcher)
    assert client.get(f"/jobs/{job_id}/").status_code == 200
