"""A save's client id comes back with the document (so a reloaded workspace knows its own save), and the
focused time the workspace reports adds up on the task."""

import pytest

from labeling.models import AnnotationRevision, Task
from labeling.services.annotations import annotation_overwrite
from tests.actors import api_client_for
from tests.labeling.annotation.conftest import box

pytestmark = pytest.mark.django_db


def save(client, task, shapes, version, **fields):
    return client.put(
        f"/api/v1/tasks/{task.pk}/annotation/",
        {"shapes": shapes, **fields},
        format="json",
        HTTP_IF_MATCH=f'"{version}"',
    )


def document(client, task) -> dict:
    return client.get(f"/api/v1/tasks/{task.pk}/annotation/").json()


@pytest.mark.parametrize("merge_seconds", [0, 600], ids=["new revision", "merged revision"])
def test_the_latest_save_id_comes_back_in_get_in_the_save_and_in_a_412(task, annotator, settings, merge_seconds):
    settings.ANNOTATION_REVISION_MERGE_SECONDS = merge_seconds
    client = api_client_for(annotator)
    assert document(client, task)["save_id"] is None
    first = save(client, task, [box("a", 0, 0, 10, 10)], 0, save_id="3f0c-first")
    assert first.status_code == 200 and first.json()["save_id"] == "3f0c-first"
    second = save(client, task, [box("a", 0, 0, 20, 20)], 1, save_id="3f0c-second")
    assert second.json()["save_id"] == "3f0c-second"
    assert document(client, task)["save_id"] == "3f0c-second"
    assert AnnotationRevision.objects.filter(task=task).count() == (2 if merge_seconds == 0 else 1)

    stale = save(client, task, [box("b", 0, 0, 5, 5)], 1, save_id="3f0c-third")
    assert stale.status_code == 412
    assert stale.json()["current"]["save_id"] == "3f0c-second" and stale.json()["current"]["version"] == 2


def test_a_save_without_an_id_or_an_import_leaves_none(task, annotator, researcher):
    client = api_client_for(annotator)
    save(client, task, [], 0, save_id="mine")
    save(client, task, [], 1)
    assert document(client, task)["save_id"] is None
    save(client, task, [], 2, save_id="mine-again")
    annotation_overwrite(task=task, user=researcher, shapes=[], relations=[])
    assert document(client, task)["save_id"] is None


@pytest.mark.parametrize("bad", ["has space", "x" * 65, "<b>", ""])
def test_a_malformed_save_id_is_refused_and_nothing_is_written(task, annotator, bad):
    response = save(api_client_for(annotator), task, [], 0, save_id=bad)
    assert response.status_code == 400 and "save_id" in response.json()["errors"]
    assert not AnnotationRevision.objects.exists()


def test_focused_time_from_saves_and_reports_adds_up_on_the_task(task, annotator):
    client = api_client_for(annotator)
    assert save(client, task, [], 0, focused_seconds=42).status_code == 200
    stale = save(client, task, [], 0, focused_seconds=100)
    assert stale.status_code == 412  # a save that did not land adds nothing: the workspace sends it again
    reported = client.post(f"/api/v1/tasks/{task.pk}/focused-time/", {"seconds": 8}, format="json")
    assert reported.status_code == 200 and reported.json()["focused_seconds"] == 50
    assert client.get(f"/api/v1/tasks/{task.pk}/").json()["focused_seconds"] == 50
    assert Task.objects.get(pk=task.pk).focused_seconds == 50


@pytest.mark.parametrize("seconds", [-1, 601, "ten"])
def test_focused_time_out_of_bounds_is_refused(task, annotator, seconds):
    client = api_client_for(annotator)
    response = client.post(f"/api/v1/tasks/{task.pk}/focused-time/", {"seconds": seconds}, format="json")
    assert response.status_code == 400 and "seconds" in response.json()["errors"]
    assert save(client, task, [], 0, focused_seconds=seconds).status_code == 400
    assert Task.objects.get(pk=task.pk).focused_seconds == 0


@pytest.mark.parametrize("who,expected", [("annotator", 200), ("reviewer", 403), ("outsider", 404)])
def test_only_the_assignee_reports_focused_time(task, who, expected, request):
    user = request.getfixturevalue(who)
    response = api_client_for(user).post(f"/api/v1/tasks/{task.pk}/focused-time/", {"seconds": 5}, format="json")
    assert response.status_code == expected
    assert Task.objects.get(pk=task.pk).focused_seconds == (5 if expected == 200 else 0)
