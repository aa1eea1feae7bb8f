"""Who reaches which task endpoint (docs/decisions.md §2): 404 for the invisible, 403 for the visible but not allowed."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from labeling.models import Task, TaskStatus
from tests.actors import api_client_for
from tests.factories import MembershipFactory, UserFactory
from tests.labeling.annotation.conftest import box

pytestmark = pytest.mark.django_db


@pytest.fixture
def actors(annotator, reviewer, team_admin, researcher, outsider, admin, team_a):
    other = MembershipFactory(team=team_a, user=UserFactory(username="other_annotator"), is_annotator=True).user
    return {
        "assignee": annotator,
        "other_annotator": other,
        "reviewer": reviewer,
        "team_admin": team_admin,
        "researcher": researcher,
        "outsider": outsider,
        "admin": admin,
    }


def call(user, method: str, path: str, **kwargs):
    return getattr(api_client_for(user), method)(path, format="json", **kwargs).status_code


READ = {
    "assignee": 200,
    "other_annotator": 404,
    "reviewer": 200,
    "team_admin": 200,
    "researcher": 200,
    "outsider": 404,
    "admin": 200,
}
ANNOTATE = {**READ, "reviewer": 403, "team_admin": 403, "researcher": 403, "admin": 403}
REVIEW = {**READ, "assignee": 403, "researcher": 403, "reviewer": 201, "team_admin": 201, "admin": 201}


@pytest.mark.parametrize("who", list(READ))
def test_reading_a_task_and_its_document(who, actors, task):
    assert call(actors[who], "get", f"/api/v1/tasks/{task.pk}/") == READ[who]
    assert call(actors[who], "get", f"/api/v1/tasks/{task.pk}/annotation/") == READ[who]
    assert call(actors[who], "get", f"/api/v1/tasks/{task.pk}/annotation/diff/?from=0&to=0") == READ[who]
    listed = api_client_for(actors[who]).get("/api/v1/tasks/").json()["results"]
    assert (task.pk in [t["id"] for t in listed]) == (READ[who] == 200)


@pytest.mark.parametrize("who", list(ANNOTATE))
def test_saving_and_submitting(who, actors, task):
    saved = call(
        actors[who],
        "put",
        f"/api/v1/tasks/{task.pk}/annotation/",
        data={"shapes": [box("a", 0, 0, 5, 5)]},
        HTTP_IF_MATCH='"0"',
    )
    assert saved == ANNOTATE[who]
    assert call(actors[who], "post", f"/api/v1/tasks/{task.pk}/submit/") == ANNOTATE[who]


@pytest.mark.parametrize("who", list(REVIEW))
def test_reviewing(who, actors, task):
    Task.objects.filter(pk=task.pk).update(status=TaskStatus.SUBMITTED)
    assert call(actors[who], "post", f"/api/v1/tasks/{task.pk}/review/", data={"decision": "accept"}) == REVIEW[who]


@pytest.mark.parametrize(
    "who,expected", [("researcher", 200), ("team_admin", 200), ("assignee", 403), ("reviewer", 403), ("outsider", 404)]
)
def test_assigning(who, expected, actors, task):
    assert call(actors[who], "patch", f"/api/v1/tasks/{task.pk}/", data={"assignee": None}) == expected
    assert (Task.objects.get(pk=task.pk).assignee_id is None) == (expected == 200)


@pytest.mark.parametrize("who,expected", [("researcher", 200), ("reviewer", 200), ("assignee", 403), ("outsider", 404)])
def test_quality_and_history(who, expected, actors, task, dataset):
    assert call(actors[who], "get", f"/api/v1/datasets/{dataset.pk}/quality/") == expected
    assert call(actors[who], "get", f"/api/v1/items/{task.item_id}/history/") == (404 if expected == 404 else 200)


def test_an_annotator_sees_only_their_own_history_of_an_item(actors, task, researcher):
    api_client_for(actors["assignee"]).put(
        f"/api/v1/tasks/{task.pk}/annotation/", {"shapes": []}, format="json", HTTP_IF_MATCH='"0"'
    )
    other = api_client_for(actors["other_annotator"]).get(f"/api/v1/items/{task.item_id}/history/").json()
    mine = api_client_for(actors["assignee"]).get(f"/api/v1/items/{task.item_id}/history/").json()
    assert other["revisions"] == [] and len(mine["revisions"]) == 1


def test_only_an_annotator_of_the_team_can_be_assigned(actors, task, researcher):
    client = api_client_for(researcher)
    refused = client.patch(f"/api/v1/tasks/{task.pk}/", {"assignee": actors["outsider"].pk}, format="json")
    assert refused.status_code == 400 and refused.json()["errors"]["assignee"] == [
        "The assignee must be an annotator of the dataset's team."
    ]
    assert client.patch(f"/api/v1/tasks/{task.pk}/", {"assignee": 99999}, format="json").status_code == 400


def test_active_time_adds_gaps_between_saves_under_five_minutes(task, annotator):
    client = api_client_for(annotator)
    start = timezone.now()
    for version, minutes in enumerate((0, 2, 3, 20)):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            response = client.put(
                f"/api/v1/tasks/{task.pk}/annotation/", {"shapes": []}, format="json", HTTP_IF_MATCH=f'"{version}"'
            )
            assert response.status_code == 200
    assert Task.objects.get(pk=task.pk).active_seconds == 3 * 60  # 2 + 1 minutes; the 17-minute gap is a break
