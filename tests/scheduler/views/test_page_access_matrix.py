"""Every POST page of the scheduler, as anonymous, another team, the same team without the role and
the permitted user: a login redirect, a 404, a styled 403 or the action, never a 500."""

import pytest

from scheduler.models import Gpu, Job
from tests.actors import api_client_for
from tests.scheduler.factories import fleet

ACTORS = ["anonymous", "outsider", "annotator", "researcher", "team_admin", "admin"]


@pytest.fixture
def targets(db, researcher, team_admin, outsider, annotator, admin):
    gpus = fleet(nodes=1, per_node=2)
    response = api_client_for(researcher).post(
        "/api/v1/jobs/", {"command": "true", "gpus": 1, "time_limit": "PT1H"}, format="json"
    )
    return {"job": response.json()["id"], "gpu": gpus[0].pk, "node": gpus[0].node_id}


PAGES = {
    "/jobs/{job}/cancel/": {},
    "/jobs/new/": {"command": "true", "gpus": "1", "time_limit": "1h"},
    "/gpus/{gpu}/drain/": {"reason": "PSU swap"},
    "/nodes/{node}/drain/": {"reason": "PSU swap"},
    "/bookings/feed/regenerate/": {},
}


def post_as(request, client, actor, path, body):
    if actor != "anonymous":
        client.force_login(request.getfixturevalue(actor))
    return client.post(path, body)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("route", list(PAGES))
def test_no_post_page_answers_500(request, client, targets, actor, route):
    response = post_as(request, client, actor, route.format(**targets), PAGES[route])
    assert response.status_code < 500, response.content[:500]
    if actor == "anonymous":
        assert response.status_code == 302 and "/login" in response["Location"]


@pytest.mark.parametrize(
    ("actor", "expected"),
    [("outsider", 404), ("annotator", 403), ("researcher", 302), ("team_admin", 302), ("admin", 302)],
)
def test_the_cancel_page_answers_like_the_api(request, client, targets, actor, expected):
    response = post_as(request, client, actor, f"/jobs/{targets['job']}/cancel/", {})
    assert response.status_code == expected
    if expected == 403:  # a page in the site's frame, saying why
        html = response.content.decode()
        assert "Only the owner, their team admins and site admins cancel this job." in html
        assert 'class="mainnav"' in html
    assert (Job.objects.get(pk=targets["job"]).state == "cancelled") == (expected == 302)


def test_drain_pages_are_for_site_admins(request, client, targets, annotator):
    response = post_as(request, client, "team_admin", f"/gpus/{targets['gpu']}/drain/", {"reason": "x"})
    assert response.status_code == 403 and 'class="mainnav"' in response.content.decode()
    assert Gpu.objects.get(pk=targets["gpu"]).state != "drained"
