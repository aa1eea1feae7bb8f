"""/api/v1/datasets/{id}/tasks/ (make and hand out), .../tasks/assign/, .../tasks/reviewer/ and
.../tasks/progress/: the same operations as the tasks page, with the contract's error body."""

import pytest

from labeling.models import Task
from labeling.services import task_assignment as service
from tests.actors import api_client_for
from tests.factories import MembershipFactory, UserFactory
from tests.labeling.builders import make_item, make_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_annotator(team_a):
    return MembershipFactory(team=team_a, user=UserFactory(username="ann_b"), is_annotator=True).user


def url(dataset, tail: str = "") -> str:
    return f"/api/v1/datasets/{dataset.pk}/tasks/{tail}"


def test_make_tasks_round_robin_with_a_reviewer(dataset, researcher, annotator, second_annotator, reviewer):
    for i in range(4):
        make_item(dataset, name=f"p{i}")
    response = api_client_for(researcher).post(
        url(dataset),
        {"scope": "untasked", "annotators": [annotator.pk, second_annotator.pk], "reviewer": reviewer.pk},
        format="json",
    )
    assert response.status_code == 201
    assert response.json() == {"items": 4, "created": 4, "existing": 0, "assigned": 4, "unassigned": 0}
    assert sorted(Task.objects.values_list("assignee__username", flat=True)) == ["ann_b"] * 2 + ["annotator"] * 2
    assert set(Task.objects.values_list("reviewer_id", flat=True)) == {reviewer.pk}
    listed = api_client_for(researcher).get(f"/api/v1/tasks/?dataset={dataset.pk}&reviewer={reviewer.pk}").json()
    assert len(listed["results"]) == 4 and listed["results"][0]["reviewer_username"] == "reviewer"


def test_make_tasks_for_a_filter(dataset, researcher):
    make_item(dataset, name="a")
    done = make_item(dataset, name="b", status="done")
    response = api_client_for(researcher).post(
        url(dataset), {"scope": "filter", "filter": {"status": "done"}}, format="json"
    )
    assert response.status_code == 201 and response.json()["items"] == 1
    assert list(Task.objects.values_list("item_id", flat=True)) == [done.pk]


def test_bad_input_answers_400_in_the_contracts_shape_and_writes_nothing(dataset, researcher, annotator, outsider):
    make_item(dataset, name="a")
    client = api_client_for(researcher)
    cases = [
        ({"scope": "sideways"}, "scope"),
        ({"overlap": 2, "annotators": [annotator.pk]}, "annotators"),
        ({"annotators": [outsider.pk]}, "annotators"),
        ({"annotators": ["x"]}, "annotators"),
        ({"scope": "filter", "filter": {"kind": "video"}}, "kind"),
        ({"version": 424242}, "version"),
        ({"reviewer": annotator.pk}, "reviewer"),
    ]
    for body, field in cases:
        response = client.post(url(dataset), body, format="json")
        assert response.status_code == 400, body
        assert set(response.json()) >= {"detail", "errors"} and field in response.json()["errors"], response.json()
    assert Task.objects.count() == 0


def test_assign_by_hand_round_robin_take_back_and_set_reviewer(
    dataset, researcher, annotator, second_annotator, reviewer
):
    tasks = [make_task(make_item(dataset, name=f"p{i}")) for i in range(3)]
    ids = [t.pk for t in tasks]
    client = api_client_for(researcher)
    by_hand = client.post(url(dataset, "assign/"), {"tasks": ids[:1], "annotators": [annotator.pk]}, format="json")
    assert by_hand.status_code == 200 and by_hand.json() == {"assigned": 1, "unassigned": 0}
    both = client.post(
        url(dataset, "assign/"), {"tasks": ids, "annotators": [second_annotator.pk, annotator.pk]}, format="json"
    )
    assert both.json()["assigned"] == 3
    assert [Task.objects.get(pk=pk).assignee_id for pk in ids] == [
        second_annotator.pk,
        annotator.pk,
        second_annotator.pk,
    ]
    back = client.post(url(dataset, "assign/"), {"tasks": ids[2:], "annotators": []}, format="json")
    assert back.json() == {"assigned": 0, "unassigned": 1}
    routed = client.post(url(dataset, "reviewer/"), {"tasks": ids, "reviewer": reviewer.pk}, format="json")
    assert routed.status_code == 200 and routed.json() == {"updated": 3}
    assert client.post(url(dataset, "reviewer/"), {"tasks": ids, "reviewer": None}, format="json").status_code == 200
    assert set(Task.objects.values_list("reviewer_id", flat=True)) == {None}


def test_assign_refusals(dataset, researcher, annotator, second_annotator, team_b, outsider):
    item = make_item(dataset, name="shared")
    make_task(item, assignee=annotator)
    other = make_task(item, overlap_index=1)
    client = api_client_for(researcher)
    held = client.post(url(dataset, "assign/"), {"tasks": [other.pk], "annotators": [annotator.pk]}, format="json")
    assert held.status_code == 400 and "annotators" in held.json()["errors"]
    missing = client.post(url(dataset, "assign/"), {"tasks": [987654], "annotators": [annotator.pk]}, format="json")
    assert missing.json()["errors"]["tasks"] == [service.TASKS_NOT_IN_DATASET.format(ids=987654)]
    empty = client.post(url(dataset, "assign/"), {"tasks": [], "annotators": [annotator.pk]}, format="json")
    assert empty.status_code == 400 and "tasks" in empty.json()["errors"]
    assert Task.objects.get(pk=other.pk).assignee_id is None


def test_progress_and_who_may_do_what(dataset, researcher, annotator, reviewer, team_admin, outsider):
    make_task(make_item(dataset, name="a"), assignee=annotator, status="submitted")
    make_task(make_item(dataset, name="b"))
    progress = api_client_for(reviewer).get(url(dataset, "progress/"))
    assert progress.status_code == 200
    body = progress.json()
    assert body["annotators"][0] | {"user": None} == {
        "user": None,
        "username": "annotator",
        "new": 0,
        "in_progress": 0,
        "submitted": 1,
        "accepted": 0,
        "rejected": 0,
        "total": 1,
    }
    assert body["annotators"][1]["username"] is None and body["total"]["new"] == 1
    assert api_client_for(annotator).get(url(dataset, "progress/")).status_code == 403
    assert api_client_for(team_admin).post(url(dataset), {}, format="json").status_code == 201
    for tail in ("", "assign/", "reviewer/"):
        body = {"tasks": [1], "annotators": [], "reviewer": None}
        assert api_client_for(reviewer).post(url(dataset, tail), body, format="json").status_code == 403
        assert api_client_for(outsider).post(url(dataset, tail), body, format="json").status_code == 404
    assert api_client_for(outsider).get(url(dataset, "progress/")).status_code == 404
