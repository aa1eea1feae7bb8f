"""/api/v1/tasks/...: saving with versions, submitting, reviewing, history, diff and quality."""

import pytest

from labeling.models import AnnotationRevision, Item, ItemClass, Task, TaskStatus
from labeling.services.annotation_tasks import task_assign, tasks_create
from portal.notifications.models import Notification
from tests.actors import api_client_for
from tests.labeling.annotation.conftest import box, make_item

pytestmark = pytest.mark.django_db


def save(client, task, shapes, version, relations=()):
    return client.put(
        f"/api/v1/tasks/{task.pk}/annotation/",
        {"shapes": shapes, "relations": list(relations)},
        format="json",
        HTTP_IF_MATCH=f'"{version}"',
    )


def test_a_save_needs_if_match_and_bumps_the_version_and_etag(task, annotator):
    client = api_client_for(annotator)
    loaded = client.get(f"/api/v1/tasks/{task.pk}/annotation/")
    assert loaded.status_code == 200 and loaded["ETag"] == '"0"' and loaded.json()["shapes"] == []
    missing = client.put(f"/api/v1/tasks/{task.pk}/annotation/", {"shapes": []}, format="json")
    assert missing.status_code == 428 and "If-Match" in missing.json()["detail"]
    saved = save(client, task, [box("a", 10, 10, 100, 100)], 0)
    assert saved.status_code == 200 and saved["ETag"] == '"1"'
    assert saved.json()["version"] == 1 and saved.json()["shapes"][0]["box"] == [10, 10, 100, 100]
    task.refresh_from_db()
    assert task.status == TaskStatus.IN_PROGRESS and Item.objects.get().status == "in_progress"


def test_a_stale_save_gets_412_with_the_server_document_and_changes_nothing(task, annotator):
    client = api_client_for(annotator)
    assert save(client, task, [box("mine", 0, 0, 50, 50)], 0).status_code == 200
    stale = save(client, task, [box("theirs", 0, 0, 60, 60)], 0)
    assert stale.status_code == 412
    body = stale.json()
    assert body["current"]["version"] == 1 and [s["id"] for s in body["current"]["shapes"]] == ["mine"]
    assert "version 1, yours was 0" in body["detail"]
    assert client.get(f"/api/v1/tasks/{task.pk}/annotation/").json()["shapes"][0]["id"] == "mine"
    assert AnnotationRevision.objects.count() == 1


def test_bad_documents_answer_400_naming_the_problem_and_write_nothing(task, annotator):
    client = api_client_for(annotator)
    bad = save(client, task, [box("a", 0, 0, 5, 5, cls="dragon")], 0)
    assert bad.status_code == 400
    assert bad.json()["errors"] == {"shapes": ["Shape 'a': class 'dragon' is not in the label schema."]}
    malformed = client.put(f"/api/v1/tasks/{task.pk}/annotation/", {"shapes": []}, format="json", HTTP_IF_MATCH="v1")
    assert malformed.status_code == 400 and "If-Match" in malformed.json()["errors"]
    assert AnnotationRevision.objects.count() == 0 and Task.objects.get().status == TaskStatus.NEW


def test_clipped_shapes_are_reported_and_the_class_index_follows_the_document(task, annotator):
    client = api_client_for(annotator)
    saved = save(client, task, [box("a", 700, 0, 500, 10), box("b", 0, 50, 5, 5, cls="text")], 0)
    assert saved.json()["clipped"] == ["a"] and saved.json()["shapes"][0]["box"] == [700, 0, 100, 10]
    assert set(ItemClass.objects.values_list("class_name", flat=True)) == {"panel", "text"}
    save(client, task, [box("b", 0, 50, 5, 5, cls="text")], 1)
    assert set(ItemClass.objects.values_list("class_name", flat=True)) == {"text"}


def test_the_review_loop_with_notifications_history_and_diff(task, annotator, reviewer):
    author, checker = api_client_for(annotator), api_client_for(reviewer)
    save(author, task, [box("a", 0, 0, 10, 10)], 0)
    assert checker.post(f"/api/v1/tasks/{task.pk}/review/", {"decision": "accept"}).status_code == 409  # not submitted
    assert author.post(f"/api/v1/tasks/{task.pk}/submit/", {"version": 0}, format="json").status_code == 412
    assert author.post(f"/api/v1/tasks/{task.pk}/submit/", {"version": 1}, format="json").status_code == 200
    assert Item.objects.get().status == "in_review"
    assert save(author, task, [], 1).status_code == 409  # handed in: frozen until reviewed

    no_comment = checker.post(f"/api/v1/tasks/{task.pk}/review/", {"decision": "reject"}, format="json")
    assert no_comment.status_code == 400 and "comment" in no_comment.json()["errors"]
    rejected = checker.post(
        f"/api/v1/tasks/{task.pk}/review/",
        {"decision": "reject", "comment": "Panel too tight", "shape": "a"},
        format="json",
    )
    assert rejected.status_code == 201 and rejected.json()["shape"] == "a"
    notice = Notification.objects.get(user=annotator)
    assert notice.kind == "work_rejected" and notice.body == "Panel too tight" and notice.url == f"/label/{task.pk}/"
    detail = author.get(f"/api/v1/tasks/{task.pk}/").json()
    assert detail["status"] == "rejected" and detail["workspace"]["latest_review"]["comment"] == "Panel too tight"

    nxt = author.post("/api/v1/tasks/next/", {}, format="json")
    assert nxt.status_code == 200 and nxt.json()["id"] == task.pk  # rejected work comes first
    save(author, task, [box("a", 0, 0, 20, 20)], 1)
    author.post(f"/api/v1/tasks/{task.pk}/submit/", {}, format="json")
    assert checker.post(f"/api/v1/tasks/{task.pk}/review/", {"decision": "accept"}, format="json").status_code == 201
    assert Item.objects.get().status == "done" and Task.objects.get().status == "accepted"

    history = author.get(f"/api/v1/items/{task.item_id}/history/").json()
    assert [(r["version"], r["author"]) for r in history["revisions"]] == [(2, "annotator"), (1, "annotator")]
    assert [r["decision"] for r in history["reviews"]] == ["accept", "reject"]
    diff = author.get(f"/api/v1/tasks/{task.pk}/annotation/diff/?from=1&to=2").json()
    assert diff["shapes"]["changed"][0]["after"]["box"] == [0, 0, 20, 20]
    assert author.get(f"/api/v1/tasks/{task.pk}/annotation/diff/?from=1&to=9").status_code == 400


def test_next_task_claims_unassigned_work_once_per_person_per_item(dataset, researcher, annotator, reviewer):
    first, second = make_item(dataset, name="one"), make_item(dataset, name="two")
    tasks_create(dataset=dataset, user=researcher, overlap=2)
    assert Task.objects.count() == 4
    mine = [api_client_for(annotator).post("/api/v1/tasks/next/", {}, format="json").json()["id"]]
    # The same person asking again gets the same (still new) task back, not a second one.
    assert api_client_for(annotator).post("/api/v1/tasks/next/", {}, format="json").json()["id"] == mine[0]
    claimed = Task.objects.get(pk=mine[0])
    claimed.status = TaskStatus.SUBMITTED
    claimed.save()
    second_pick = api_client_for(annotator).post("/api/v1/tasks/next/", {}, format="json").json()
    assert second_pick["item"] != claimed.item_id  # never two tasks of one item
    other = api_client_for(reviewer).post("/api/v1/tasks/next/", {}, format="json").json()
    assert other["id"] not in (mine[0], second_pick["id"])
    assert {first.pk, second.pk} == set(Task.objects.values_list("item_id", flat=True))


def test_next_task_answers_204_when_nothing_waits(dataset, annotator):
    assert api_client_for(annotator).post("/api/v1/tasks/next/", {}, format="json").status_code == 204


def test_making_tasks_is_idempotent_and_checks_its_input(dataset, researcher, annotator):
    make_item(dataset)
    client = api_client_for(researcher)
    assert client.post(f"/api/v1/datasets/{dataset.pk}/tasks/", {"overlap": 2}, format="json").json() == {
        "items": 1,
        "created": 2,
        "existing": 0,
        "assigned": 0,
        "unassigned": 2,
    }
    assert client.post(f"/api/v1/datasets/{dataset.pk}/tasks/", {"overlap": 2}, format="json").json()["created"] == 0
    assert client.post(f"/api/v1/datasets/{dataset.pk}/tasks/", {"overlap": 0}, format="json").status_code == 400
    unknown = client.post(f"/api/v1/datasets/{dataset.pk}/tasks/", {"items": [999999]}, format="json")
    assert unknown.status_code == 400 and "999999" in unknown.json()["errors"]["items"][0]
    assert api_client_for(annotator).post(f"/api/v1/datasets/{dataset.pk}/tasks/", {}, format="json").status_code == 403


def test_quality_counts_time_rejections_and_agreement(dataset, researcher, annotator, reviewer, team_admin):
    item = make_item(dataset)
    tasks_create(dataset=dataset, user=researcher, overlap=2)
    one, two = Task.objects.filter(item=item).order_by("overlap_index")
    task_assign(task=one, user=researcher, assignee=annotator)
    task_assign(task=two, user=researcher, assignee=reviewer)
    for task, client, x in ((one, api_client_for(annotator), 0), (two, api_client_for(reviewer), 1)):
        save(client, task, [box("p", x, 0, 100, 100), box("t", 0, 500, 40, 20, cls="text", transcription="쾅!")], 0)
        client.post(f"/api/v1/tasks/{task.pk}/submit/", {}, format="json")
    before_review = api_client_for(researcher).get(f"/api/v1/datasets/{dataset.pk}/quality/").json()
    assert before_review["agreement"] == {
        "pairs": 1,
        "f1_by_class": {"panel": 1.0, "text": 1.0},
        "f1": 1.0,
        "character_error_rate": 0.0,
    }
    api_client_for(team_admin).post(
        f"/api/v1/tasks/{one.pk}/review/", {"decision": "reject", "comment": "x"}, format="json"
    )
    quality = api_client_for(researcher).get(f"/api/v1/datasets/{dataset.pk}/quality/").json()
    assert quality["agreement"]["pairs"] == 0  # sent-back work is not compared
    by_name = {row["annotator"]: row for row in quality["annotators"]}
    assert by_name["annotator"]["rejection_rate"] == 1.0 and by_name["reviewer"]["rejection_rate"] is None
    assert quality["dataset"]["reviews"] == 1 and quality["dataset"]["rejection_rate"] == 1.0
    assert api_client_for(annotator).get(f"/api/v1/datasets/{dataset.pk}/quality/").status_code == 403


def test_removing_a_class_from_the_schema_keeps_its_shapes_flagged(task, annotator, researcher, dataset):
    client = api_client_for(annotator)
    save(client, task, [box("p", 0, 0, 10, 10), box("t", 0, 20, 10, 10, cls="text", transcription="hi")], 0)
    schema = dataset.label_schema
    schema["classes"] = [c for c in schema["classes"] if c["name"] != "panel"]
    changed = api_client_for(researcher).patch(
        f"/api/v1/datasets/{dataset.pk}/", {"label_schema": schema}, format="json"
    )
    assert changed.status_code == 200
    loaded = client.get(f"/api/v1/tasks/{task.pk}/annotation/").json()
    assert [s["id"] for s in loaded["shapes"]] == ["p", "t"]
    assert loaded["flags"] == [{"shape": "p", "reason": "Class 'panel' is no longer in the label schema."}]
    # Saving the document unchanged keeps the flagged shape; a new panel is refused by name.
    assert save(client, task, loaded["shapes"], 1).status_code == 200
    refused = save(client, task, loaded["shapes"] + [box("q", 0, 40, 5, 5)], 2)
    assert refused.status_code == 400 and "class 'panel' is not in the label schema" in refused.json()["detail"]


def test_the_task_says_what_the_caller_may_do_and_a_save_returns_the_task_status(task, annotator, reviewer):
    author, checker = api_client_for(annotator), api_client_for(reviewer)
    assert author.get(f"/api/v1/tasks/{task.pk}/").json()["may_annotate"] is True
    assert checker.get(f"/api/v1/tasks/{task.pk}/").json()["may_annotate"] is False
    assert save(author, task, [], 0).json()["task_status"] == "in_progress"
    author.post(f"/api/v1/tasks/{task.pk}/submit/", {}, format="json")
    assert author.get(f"/api/v1/tasks/{task.pk}/").json()["may_annotate"] is False
    assert checker.get(f"/api/v1/tasks/{task.pk}/").json()["may_review"] is True
    assert author.get(f"/api/v1/tasks/{task.pk}/").json()["may_review"] is False


def test_quality_shows_focused_time_per_annotator_and_per_task_that_has_some(
    client, dataset, researcher, annotator, reviewer
):
    """The workspace's focused time on the quality figures (issue 19 item 4b): totals, and the mean over
    the tasks opened in the workspace (a task never opened would pull it down)."""
    for name in ("a", "b", "c"):
        make_item(dataset, name=name)
    tasks_create(dataset=dataset, user=researcher, overlap=1)
    first, second, third = Task.objects.filter(dataset=dataset).order_by("item_id")
    for task, person in ((first, annotator), (second, annotator), (third, reviewer)):
        task_assign(task=task, user=researcher, assignee=person)
    mine = api_client_for(annotator)
    for task, seconds in ((first, 90), (second, 30)):
        assert (
            mine.post(f"/api/v1/tasks/{task.pk}/focused-time/", {"seconds": seconds}, format="json").status_code == 200
        )

    quality = api_client_for(researcher).get(f"/api/v1/datasets/{dataset.pk}/quality/").json()
    assert (quality["dataset"]["focused_seconds"], quality["dataset"]["focused_per_task_s"]) == (120, 60.0)
    by_name = {row["annotator"]: row for row in quality["annotators"]}
    assert (by_name["annotator"]["focused_seconds"], by_name["annotator"]["focused_per_task_s"]) == (120, 60.0)
    assert (by_name["reviewer"]["focused_seconds"], by_name["reviewer"]["focused_per_task_s"]) == (0, None)
    client.force_login(researcher)
    page = client.get(f"/labeling/datasets/{dataset.pk}/quality/").content.decode()
    assert "focused time 120 s (60.0 s a task)" in page and "<th>Focused per task (s)</th>" in page
