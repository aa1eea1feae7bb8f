"""Who may do what, endpoint by endpoint (docs/decisions.md §2): what a user may not see answers 404, never 403.

Later issues add their endpoints to CASES.
"""

import pytest

from portal.notifications.services import notification_send
from tests.actors import api_client_for


@pytest.fixture
def world(team_a, team_b, researcher, team_admin, outsider, admin):
    return {
        "team_a": team_a,
        "team_b": team_b,
        "researchers_note": notification_send(user=researcher, kind="message", title="for the researcher"),
    }


# (actor, method, path template, body, expected status)
CASES = [
    ("researcher", "get", "/api/v1/teams/{team_a.id}/", None, 200),
    ("outsider", "get", "/api/v1/teams/{team_a.id}/", None, 404),
    ("admin", "get", "/api/v1/teams/{team_a.id}/", None, 200),
    ("researcher", "get", "/api/v1/teams/{team_a.id}/quota/", None, 200),
    ("outsider", "get", "/api/v1/teams/{team_a.id}/quota/", None, 404),
    ("researcher", "patch", "/api/v1/teams/{team_a.id}/quota/", {"max_concurrent_gpus": 64}, 403),
    ("team_admin", "patch", "/api/v1/teams/{team_a.id}/quota/", {"max_concurrent_gpus": 64}, 403),
    ("outsider", "patch", "/api/v1/teams/{team_a.id}/quota/", {"max_concurrent_gpus": 64}, 404),
    ("admin", "patch", "/api/v1/teams/{team_a.id}/quota/", {"max_concurrent_gpus": 64}, 200),
    ("researcher", "post", "/api/v1/notifications/{researchers_note.id}/read/", None, 200),
    ("outsider", "post", "/api/v1/notifications/{researchers_note.id}/read/", None, 404),
    ("admin", "post", "/api/v1/notifications/{researchers_note.id}/read/", None, 404),
]


@pytest.mark.parametrize(("actor", "method", "path", "body", "expected"), CASES)
def test_permission_matrix(world, request, actor, method, path, body, expected):
    client = api_client_for(request.getfixturevalue(actor))
    response = getattr(client, method)(path.format(**world), body, format="json")
    assert response.status_code == expected, response.content
    assert "detail" in response.json() or expected == 200


def test_team_lists_show_only_the_users_teams(world, outsider):
    names = [team["name"] for team in api_client_for(outsider).get("/api/v1/teams/").json()["results"]]
    assert names == ["Team B"]


def test_notification_lists_show_only_the_users_own(world, outsider, researcher):
    assert api_client_for(outsider).get("/api/v1/notifications/").json()["count"] == 0
    assert api_client_for(researcher).get("/api/v1/notifications/?unread=true").json()["count"] == 1


def test_team_pages_of_other_teams_are_404(client, world, outsider):
    client.force_login(outsider)
    assert client.get(f"/teams/{world['team_a'].id}/").status_code == 404
    assert client.get(f"/teams/{world['team_b'].id}/").status_code == 200
