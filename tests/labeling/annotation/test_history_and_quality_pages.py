"""The item history page (with a diff) and the dataset quality page, rendered for the right people."""
from datetime import timedelta

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
    api.put(f"/api/v1/tasks/{task.pk}/annotation/", {"shapes": [box("a", 0, 0, 5, 5)]}, format="json", HTTP_IF_MATCH='"0"')
    with time_machine.travel(timezone.now() + revision_merge_window() + timedelta(minutes=1)):  # a later sitting: its own revision
        api.put(f"/api/v1/tasks/{task.pk}/annotation/", {"shapes": [box("a", 0, 0, 9, 9, cls="text", transcription=payload)]},
                format="json", HTTP_IF_MATCH='"1"')
    client.force_login(researcher)
    page = client.get(f"/labeling/items/{task.item_id}/history/?task={task.pk}&from=1&to=2")
    html = page.content.decode()
    assert page.status_code == 200 and html.count("annotator") >= 2
    assert "changed a:" in html and "&lt;img src=x onerror=" in html and payload not in html


def test_the_quality_page_is_for_the_team_reviewers_researchers_and_admins(client, dataset, task, researcher, annotator, outsider):
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
