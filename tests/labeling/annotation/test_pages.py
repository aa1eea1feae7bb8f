"""The queue, workspace and review pages: shells that 404 for tasks one may not see and hand their
script its data through json_script only."""

import json
import re

import pytest

pytestmark = pytest.mark.django_db


def page_data(response, element_id):
    match = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    return json.loads(match.group(1))


def test_the_assignee_opens_the_workspace_with_its_data(client, task, annotator):
    client.force_login(annotator)
    response = client.get(f"/label/{task.pk}/")
    assert response.status_code == 200
    data = page_data(response, "workspace-data")
    assert (data["mode"], data["task"], data["user"]["id"]) == ("annotate", task.pk, annotator.pk)
    assert data["pages"]["login"] == f"/accounts/login/?next=/label/{task.pk}/"


def test_a_reviewer_opens_the_review_page(client, task, reviewer):
    client.force_login(reviewer)
    response = client.get(f"/review/{task.pk}/")
    assert response.status_code == 200
    assert page_data(response, "workspace-data")["mode"] == "review"
    assert b'id="review-accept"' in response.content


@pytest.mark.parametrize("path", ["/label/{pk}/", "/review/{pk}/"])
def test_another_teams_user_gets_404(client, task, outsider, path):
    client.force_login(outsider)
    assert client.get(path.format(pk=task.pk)).status_code == 404


def test_the_pages_need_a_login(client, task):
    response = client.get(f"/label/{task.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_queue_is_in_the_navigation(client, annotator):
    client.force_login(annotator)
    response = client.get("/label/")
    assert response.status_code == 200
    assert b'href="/label/" aria-current="page">Annotate</a>' in response.content
