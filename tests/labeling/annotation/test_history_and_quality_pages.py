"""The item history page (with a diff) and the dataset quality page, rendered for the right people."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from labeling.models import Task
from labeling.services.annotations import revision_merge_window
from tests.actors import api_client_for
from tests.labeling.annotation.conftest import box

pytestmark = pytest.mark.django_db


def test_the_history_page_lists_versions_and_shows_a_diff_with_user_text_escaped(client, task, annotator, researcher):
    api = api_client_for(annotator)
    payload = '<img src=x onerror="alert(1)">'
    api.put(
        f"/api/v1/tasks/{task.pk}/annotation/", {"shapes": [box("a", 0, 0, 5, 5)]}, format="json", HTTP_IF_MATCH='"0"'
    )
    with time_machine.travel(
        timezone.now() + revision_merge_window() + timedelta(minutes=1)
    ):  # a later sitting: its own revision
        api.put(
            f"/api/v1/tasks/{task.pk}/annotation/",
            {"shapes": [box("a", 0, 0, 9, 9, cls="text", transcription=payload)]},
            format="json",
            HTTP_IF_MATCH='"1"',
        )
    client.force_login(researcher)
    page = client.get(f"/labeling/items/{task.item_id}/history/?task={task.pk}&from=1&to=2")
    html = page.content.decode()
    assert page.status_code == 200 and html.count("annotator") >= 2
    assert "changed text 1:" in html and "&lt;img src=x onerror=" in html and payload not in html


def test_the_quality_page_is_for_the_team_reviewers_researchers_and_admins(
    client, dataset, task, researcher, annotator, outsider
):
    client.force_login(researcher)
    page = client.get(f"/labeling/datasets/{dataset.pk}/quality/")
    assert page.status_code == 200 and "annotator" in page.content.decode()
    client.force_login(annotator)
    assert client.get(f"/labeling/datasets/{dataset.pk}/quality/").status_code == 403
    client.force_login(outsider)
    assert client.get(f"/labeling/datasets/{dataset.pk}/quality/").status_code == 404
    assert client.get(f"/labeling/items/{task.item_id}/history/").status_code == 404
    assert Task.objects.count() == 1


def test_a_diff_with_a_version_the_task_never_had_says_so(client, task, annotator):
    client.force_login(annotator)
    page = client.get(f"/labeling/items/{task.item_id}/history/?task={task.pk}&from=0&to=7")
    assert page.status_code == 200
    assert f"Task {task.pk} has no version 7." in page.content.decode()
    assert 'id="history-diff"' not in page.content.decode()


def test_the_history_page_dates_each_review(client, task, annotator, reviewer):
    import re

    author = api_client_for(annotator)
    author.put(
        f"/api/v1/tasks/{task.pk}/annotation/", {"shapes": [box("a", 0, 0, 5, 5)]}, format="json", HTTP_IF_MATCH='"0"'
    )
    author.post(f"/api/v1/tasks/{task.pk}/submit/", {}, format="json")
    api_client_for(reviewer).post(
        f"/api/v1/tasks/{task.pk}/review/", {"decision": "reject", "comment": "tighter"}, format="json"
    )
    client.force_login(reviewer)
    html = client.get(f"/labeling/items/{task.item_id}/history/").content.decode()
    reviews = html.split('id="reviews"', 1)[1].split("</table>", 1)[0]
    assert re.search(
        r"<tr><td><time datetime=\"[^\"]+\">\d{4}-\d\d-\d\d \d\d:\d\d UTC</time></td><td>#" + str(task.pk), reviews
    )


def test_the_compare_form_starts_at_the_newest_revision_against_the_one_before(client, task, annotator):
    author = api_client_for(annotator)
    for version in range(3):  # one burst: one revision, versions 1..3
        author.put(
            f"/api/v1/tasks/{task.pk}/annotation/",
            {"shapes": [box("a", 0, 0, 5 + version, 5)]},
            format="json",
            HTTP_IF_MATCH=f'"{version}"',
        )
    client.force_login(annotator)
    html = client.get(f"/labeling/items/{task.item_id}/history/").content.decode()
    assert (
        'name="from" type="number" min="0" size="4" value="0"' in html
        and 'name="to" type="number" min="0" size="4" value="3"' in html
    )
    compared = client.get(f"/labeling/items/{task.item_id}/history/?task={task.pk}&from=0&to=3").content.decode()
    assert 'id="history-diff"' in compared and "added panel 1" in compared


def test_history_times_are_in_the_viewers_time_zone_and_shapes_are_named_by_class_and_number(
    client, task, annotator, reviewer
):
    shapes = [
        box("p", 0, 0, 50, 50),
        box("b1", 0, 60, 9, 9, cls="speech_bubble"),
        box("b2", 0, 80, 9, 9, cls="speech_bubble"),
    ]
    # 23:30 UTC is 08:30 the next morning in Seoul.
    with time_machine.travel(datetime(2026, 3, 1, 23, 30, tzinfo=UTC), tick=False):
        author = api_client_for(annotator)
        author.put(f"/api/v1/tasks/{task.pk}/annotation/", {"shapes": shapes}, format="json", HTTP_IF_MATCH='"0"')
        author.post(f"/api/v1/tasks/{task.pk}/submit/", {}, format="json")
        api_client_for(reviewer).post(
            f"/api/v1/tasks/{task.pk}/review/",
            {"decision": "reject", "comment": "tail", "shape": "b2"},
            format="json",
        )
    reviewer.time_zone = "Asia/Seoul"
    reviewer.save(update_fields=["time_zone"])
    client.force_login(reviewer)
    html = client.get(f"/labeling/items/{task.item_id}/history/?task={task.pk}&from=0&to=1").content.decode()
    revisions = html.split('id="revisions"', 1)[1].split("</table>", 1)[0]
    reviews = html.split('id="reviews"', 1)[1].split("</table>", 1)[0]
    assert ">2026-03-02 08:30 KST</time>" in revisions and ">2026-03-02 08:30 KST</time>" in reviews
    assert "2026-03-01T23:30" not in revisions.split("datetime=")[0]
    assert "<td>speech bubble 2</td>" in reviews and "b2" not in reviews
    diff = html.split('id="history-diff"', 1)[1].split("</div>", 1)[0]
    assert [line in diff for line in ("added panel 1", "added speech bubble 1", "added speech bubble 2")] == [True] * 3
    assert ">added b1<" not in diff
