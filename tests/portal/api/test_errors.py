"""Every error has the shape {"detail": ..., "errors": {...}} (docs/decisions.md §3)."""

from tests.actors import api_client_for


def test_a_validation_error_names_the_field(researcher):
    response = api_client_for(researcher).patch("/api/v1/me/", {"time_zone": "Mars/Olympus"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {
        "time_zone": ["'Mars/Olympus' is not a known time zone (use an IANA name such as Europe/Berlin)."]
    }
    assert body["detail"].startswith("time_zone: ")


def test_a_missing_thing_is_a_404_with_a_detail(researcher):
    response = api_client_for(researcher).delete("/api/v1/tokens/atl_doesnotexist/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such token.", "errors": {}}


def test_me_reports_roles_per_team(researcher, team_admin):
    body = api_client_for(team_admin).get("/api/v1/me/").json()
    assert body["memberships"] == [
        {"team_id": body["memberships"][0]["team_id"], "team_name": "Team A", "roles": ["researcher", "team_admin"]}
    ]


def test_patch_me_changes_only_what_it_names(researcher):
    researcher.time_zone = "Europe/Berlin"
    researcher.save()
    response = api_client_for(researcher).patch("/api/v1/me/", {}, format="json")
    assert (response.status_code, response.json()["time_zone"]) == (200, "Europe/Berlin")
