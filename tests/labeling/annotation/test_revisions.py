"""History keeps the work in steps: one person's autosaves in a short burst are one revision; a new
burst, a review in between, or an import starts a new one; a diff to a merged-away version says so."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from labeling.models import AnnotationRevision
from labeling.services.annotations import revision_merge_window
from tests.actors import api_client_for
from tests.labeling.annotation.conftest import box

pytestmark = pytest.mark.django_db


def save(client, task, shapes, version):
    response = client.put(
        f"/api/v1/tasks/{task.pk}/annotation/", {"shapes": shapes}, format="json", HTTP_IF_MATCH=f'"{version}"'
    )
    assert response.status_code == 200, response.content
    return response


def revisions(task):
    return list(
        AnnotationRevision.objects.filter(task=task).order_by("version").values_list("first_version", "version")
    )


def test_saves_in_one_burst_are_one_revision_counted_from_the_revision_before(task, annotator):
    client = api_client_for(annotator)
    save(client, task, [box("a", 0, 0, 5, 5)], 0)
    save(client, task, [box("a", 0, 0, 5, 5), box("b", 10, 10, 5, 5)], 1)
    save(client, task, [box("a", 0, 0, 9, 9), box("b", 10, 10, 5, 5)], 2)
    assert revisions(task) == [(1, 3)]
    revision = AnnotationRevision.objects.get(task=task)
    assert [shape["box"] for shape in revision.shapes] == [[0, 0, 9, 9], [10, 10, 5, 5]]
    assert (revision.summary["shapes_added"], revision.summary["shapes_changed"]) == (2, 0)
    history = client.get(f"/api/v1/items/{task.item_id}/history/").json()["revisions"]
    assert [(r["first_version"], r["version"]) for r in history] == [(1, 3)]


def test_a_save_after_the_merge_window_starts_a_new_revision(task, annotator):
    client = api_client_for(annotator)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        save(client, task, [box("a", 0, 0, 5, 5)], 0)
    with time_machine.travel(start + revision_merge_window() - timedelta(seconds=1), tick=False):
        save(client, task, [box("a", 0, 0, 6, 6)], 1)
    with time_machine.travel(start + revision_merge_window() + timedelta(seconds=1), tick=False):
        save(client, task, [box("a", 0, 0, 7, 7)], 2)
    assert revisions(task) == [(1, 2), (3, 3)]
    newest = AnnotationRevision.objects.get(task=task, version=3)
    assert (newest.summary["shapes_changed"], newest.summary["shapes_added"]) == (1, 0)


def test_a_version_a_reviewer_has_seen_is_never_merged_away(task, annotator, reviewer):
    author, checker = api_client_for(annotator), api_client_for(reviewer)
    save(author, task, [box("a", 0, 0, 5, 5)], 0)
    assert author.post(f"/api/v1/tasks/{task.pk}/submit/", {}, format="json").status_code == 200
    assert (
        checker.post(
            f"/api/v1/tasks/{task.pk}/review/", {"decision": "reject", "comment": "tighter"}, format="json"
        ).status_code
        == 201
    )
    save(author, task, [box("a", 0, 0, 4, 4)], 1)
    assert revisions(task) == [(1, 1), (2, 2)]
    diff = author.get(f"/api/v1/tasks/{task.pk}/annotation/diff/?from=1&to=2").json()
    assert diff["shapes"]["changed"][0]["after"]["box"] == [0, 0, 4, 4]


def test_a_diff_to_a_merged_away_version_says_where_it_went(task, annotator):
    client = api_client_for(annotator)
    save(client, task, [box("a", 0, 0, 5, 5)], 0)
    save(client, task, [box("a", 0, 0, 6, 6)], 1)
    response = client.get(f"/api/v1/tasks/{task.pk}/annotation/diff/?from=1&to=2")
    assert response.status_code == 400
    assert "Version 1 of task" in str(response.json()) and "part of version 2" in str(response.json())
    assert client.get(f"/api/v1/tasks/{task.pk}/annotation/diff/?from=0&to=2").status_code == 200


def test_a_merge_window_of_zero_keeps_every_save(task, annotator, settings):
    settings.ANNOTATION_REVISION_MERGE_SECONDS = 0
    client = api_client_for(annotator)
    for version in range(3):
        save(client, task, [box("a", 0, 0, 5 + version, 5)], version)
    assert revisions(task) == [(1, 1), (2, 2), (3, 3)]


def test_a_reviewed_version_stays_whole_even_if_the_task_was_reopened_by_hand(task, annotator, reviewer):
    from labeling.models import Task, TaskStatus

    author, checker = api_client_for(annotator), api_client_for(reviewer)
    save(author, task, [box("a", 0, 0, 5, 5)], 0)
    author.post(f"/api/v1/tasks/{task.pk}/submit/", {}, format="json")
    assert checker.post(f"/api/v1/tasks/{task.pk}/review/", {"decision": "accept"}, format="json").status_code == 201
    Task.objects.filter(pk=task.pk).update(status=TaskStatus.IN_PROGRESS)  # an admin reopens it in the admin site
    save(author, task, [box("a", 0, 0, 4, 4)], 1)
    assert revisions(task) == [(1, 1), (2, 2)]
