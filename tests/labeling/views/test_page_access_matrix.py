"""Every POST page of labeling, as anonymous, another team, the same team without the role and the
permitted users: a login redirect, a 404, a styled 403, the action or a form error, never a 500
(docs/decisions.md §2: what a user may not see is a 404, what they see but may not change a 403)."""

import pytest

from labeling.models import Dataset, DatasetVersion
from labeling.services.datasets import NAME_REQUIRED, NAME_TAKEN, NAME_TOO_LONG, NO_SUCH_TEAM
from labeling.services.versions import NO_ITEMS
from tests.labeling.builders import make_item, make_task

ACTORS = ["anonymous", "outsider", "annotator", "reviewer", "researcher", "team_admin", "admin"]


@pytest.fixture
def targets(dataset, annotator, reviewer, team_admin, outsider, admin):
    item = make_item(dataset, name="strip")
    task = make_task(item, assignee=annotator)
    return {"team": dataset.team_id, "dataset": dataset.pk, "item": item.pk, "task": task.pk}


def post_as(request, client, actor, path, body):
    if actor != "anonymous":
        client.force_login(request.getfixturevalue(actor))
    return client.post(path, body)


# The pages whose POST changes something, each with a body that the permitted users get through.
FORMS = {
    "/labeling/": {"team": "{team}", "name": "Season 2"},
    "/labeling/datasets/{dataset}/versions/": {"seed": "7", "note": "for training"},
}
# Every other page of labeling reads only; a POST to it must not fail either.
READ_PAGES = [
    "/labeling/datasets/{dataset}/",
    "/labeling/datasets/{dataset}/upload/",
    "/labeling/datasets/{dataset}/versions/compare/",
    "/labeling/datasets/{dataset}/quality/",
    "/labeling/items/{item}/",
    "/labeling/items/{item}/history/",
    "/label/",
    "/label/{task}/",
    "/review/{task}/",
]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("route", list(FORMS) + READ_PAGES)
def test_no_post_page_answers_500(request, client, targets, actor, route):
    body = {name: value.format(**targets) for name, value in FORMS.get(route, {}).items()}
    response = post_as(request, client, actor, route.format(**targets), body)
    assert response.status_code < 500, response.content[:500]
    if actor == "anonymous":
        assert response.status_code == 302 and "/login" in response["Location"]
    elif actor == "outsider" and "{" in route:
        assert response.status_code == 404


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("outsider", 200),
        ("annotator", 403),
        ("reviewer", 403),
        ("researcher", 302),
        ("team_admin", 302),
        ("admin", 302),
    ],
)
def test_the_create_form_answers_like_the_api(request, client, targets, actor, expected):
    """Team B's researcher names a team that is not theirs: a form error, as the API's 400; team A's
    annotators and reviewers see datasets but create none: a styled 403, as the API's."""
    response = post_as(request, client, actor, "/labeling/", {"team": targets["team"], "name": "Season 2"})
    assert response.status_code == expected
    html = response.content.decode()
    if expected == 200:
        assert NO_SUCH_TEAM in html and 'id="dataset-create"' in html
    if expected == 403:
        assert "Only researchers and team admins of a team create its datasets." in html
        assert 'class="mainnav"' in html
    assert Dataset.objects.filter(name="Season 2").exists() == (expected == 302)


@pytest.mark.parametrize(
    ("actor", "body", "message"),
    [
        ("researcher", {"team": "abc", "name": "Season 2"}, NO_SUCH_TEAM),
        ("researcher", {"name": "Season 2"}, NO_SUCH_TEAM),
        ("admin", {"team": "987654", "name": "Season 2"}, NO_SUCH_TEAM),
        ("researcher", {"team": "{team}", "name": "   "}, NAME_REQUIRED),
        ("researcher", {"team": "{team}", "name": "x" * 201}, NAME_TOO_LONG),
        ("researcher", {"team": "{team}", "name": "Strips"}, NAME_TAKEN),
    ],
)
def test_a_bad_create_form_is_shown_again_with_its_error(request, client, targets, actor, body, message):
    response = post_as(request, client, actor, "/labeling/", {k: v.format(**targets) for k, v in body.items()})
    assert response.status_code == 200 and message in response.content.decode()
    assert Dataset.objects.count() == 1  # the fixture's dataset only


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("outsider", 404),
        ("annotator", 403),
        ("reviewer", 403),
        ("researcher", 302),
        ("team_admin", 302),
        ("admin", 302),
    ],
)
def test_the_freeze_form_answers_like_the_api(request, client, targets, actor, expected):
    response = post_as(request, client, actor, f"/labeling/datasets/{targets['dataset']}/versions/", {"seed": "x"})
    assert response.status_code == expected
    if expected == 403:
        assert 'class="mainnav"' in response.content.decode()
    assert DatasetVersion.objects.exists() == (expected == 302)


def test_freezing_an_empty_dataset_is_a_message_not_a_failure(client, researcher, team_a):
    client.force_login(researcher)
    client.post("/labeling/", {"team": team_a.pk, "name": "Empty"})
    empty = Dataset.objects.get(name="Empty")
    response = client.post(f"/labeling/datasets/{empty.pk}/versions/", {"seed": "1"}, follow=True)
    assert response.redirect_chain == [(f"/labeling/datasets/{empty.pk}/versions/", 302)]
    assert NO_ITEMS in response.content.decode() and not DatasetVersion.objects.exists()
