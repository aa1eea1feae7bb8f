"""Who may do what with bookings (docs/decisions.md §2): every signed-in user sees bookings on the timeline;
a note only the owner's team and site admins; changes the owner, their team admins and site admins.
Seen but not changeable is 403; unseen (nothing here: bookings are public) would be 404."""

import pytest

from tests.actors import api_client_for
from tests.scheduler.factories import booking, fleet, hours_from_now


@pytest.fixture
def world(team_a, team_b, researcher, annotator, team_admin, outsider, admin):
    gpus = fleet(nodes=1, per_node=4)
    return {
        "team_a": team_a,
        "team_b": team_b,
        "gpu": gpus[3],
        "booking": booking(
            user=researcher, gpus=gpus[:1], start=hours_from_now(2), end=hours_from_now(4), note="team A only"
        ),
        "extend": {"end": hours_from_now(5).isoformat()},
        "new": {"gpu_ids": [gpus[3].pk], "start": hours_from_now(1).isoformat(), "end": hours_from_now(2).isoformat()},
    }


# (actor, method, path, body key, expected status)
CASES = [
    ("researcher", "get", "/api/v1/bookings/", None, 200),
    ("outsider", "get", "/api/v1/bookings/", None, 200),
    ("annotator", "get", "/api/v1/bookings/{booking.id}/", None, 200),
    ("outsider", "get", "/api/v1/bookings/{booking.id}/", None, 200),
    ("outsider", "get", "/api/v1/bookings/999999/", None, 404),
    ("researcher", "patch", "/api/v1/bookings/{booking.id}/", "extend", 200),
    ("team_admin", "patch", "/api/v1/bookings/{booking.id}/", "extend", 200),
    ("admin", "patch", "/api/v1/bookings/{booking.id}/", "extend", 200),
    ("annotator", "patch", "/api/v1/bookings/{booking.id}/", "extend", 403),
    ("outsider", "patch", "/api/v1/bookings/{booking.id}/", "extend", 403),
    ("outsider", "patch", "/api/v1/bookings/999999/", "extend", 404),
    ("outsider", "delete", "/api/v1/bookings/{booking.id}/", None, 403),
    ("annotator", "delete", "/api/v1/bookings/{booking.id}/", None, 403),
    ("team_admin", "delete", "/api/v1/bookings/{booking.id}/", None, 200),
    ("admin", "delete", "/api/v1/bookings/{booking.id}/", None, 200),
    ("researcher", "delete", "/api/v1/bookings/{booking.id}/", None, 200),
    ("researcher", "post", "/api/v1/bookings/", "new", 201),
    ("outsider", "post", "/api/v1/bookings/", "new", 201),
    ("annotator", "post", "/api/v1/bookings/", "new", 400),
    ("researcher", "get", "/api/v1/availability/?gpus=1&duration=PT1H", None, 200),
    ("researcher", "get", "/api/v1/teams/{team_a.id}/quota/usage/", None, 200),
    ("annotator", "get", "/api/v1/teams/{team_a.id}/quota/usage/", None, 200),
    ("outsider", "get", "/api/v1/teams/{team_a.id}/quota/usage/", None, 404),
    ("admin", "get", "/api/v1/teams/{team_a.id}/quota/usage/", None, 200),
    ("researcher", "get", "/api/v1/reports/quotas/", None, 200),
    ("team_admin", "get", "/api/v1/reports/quotas/", None, 200),
    ("admin", "get", "/api/v1/reports/quotas/", None, 200),
]


@pytest.mark.parametrize(("actor", "method", "path", "body", "expected"), CASES)
def test_permission_matrix(world, request, actor, method, path, body, expected):
    client = api_client_for(request.getfixturevalue(actor))
    response = getattr(client, method)(path.format(**world), world.get(body), format="json")
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert set(response.json()) >= {"detail", "errors"}


def test_anonymous_callers_get_401(world, client):
    assert client.get("/api/v1/bookings/").status_code == 401
    assert client.get("/api/v1/availability/?gpus=1&duration=PT1H").status_code == 401


@pytest.mark.parametrize(
    ("actor", "sees_note"),
    [("researcher", True), ("annotator", True), ("team_admin", True), ("admin", True), ("outsider", False)],
)
def test_a_bookings_note_is_seen_by_its_team_and_site_admins_only(world, request, actor, sees_note):
    client = api_client_for(request.getfixturevalue(actor))
    note = client.get("/api/v1/bookings/{booking.id}/".format(**world)).json()["note"]
    assert note == ("team A only" if sees_note else None)


def test_team_b_cannot_change_team_as_bookings_note_or_window(world, outsider, team_admin):
    path = "/api/v1/bookings/{booking.id}/".format(**world)
    assert api_client_for(outsider).patch(path, {"note": "hijack"}, format="json").status_code == 403
    assert (
        api_client_for(team_admin).patch(path, {"note": "edited by lead"}, format="json").status_code == 403
    )  # the note is the owner's
    world["booking"].refresh_from_db()
    assert (world["booking"].note, world["booking"].state) == ("team A only", "active")


def test_the_quota_report_shows_team_admins_only_their_team(world, researcher, team_admin, outsider, admin):
    def teams(user):
        return sorted({row["team"] for row in api_client_for(user).get("/api/v1/reports/quotas/").json()["rows"]})

    assert teams(admin) == ["Team A", "Team B"]
    assert teams(team_admin) == ["Team A"]
    assert teams(researcher) == teams(outsider) == []
