"""A team lead opens a dataset, goes to its tasks page, makes tasks round-robin for two annotators
and reads their progress (real daphne + Chromium; item rows made in the test with thumbnails only)."""

import re

import pytest
from PIL import Image

from labeling import storage
from labeling.models import Slice, Task
from labeling.services.datasets import dataset_create
from tests.e2e.conftest import log_in
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from tests.labeling.builders import make_item

pytestmark = [pytest.mark.stack, pytest.mark.e2e]


def test_a_lead_makes_tasks_round_robin_for_two_annotators_and_sees_progress(
    live_stack, page, page_problems, team_admin, annotator, team_a
):
    second = MembershipFactory(team=team_a, user=UserFactory(username="ann_b"), is_annotator=True).user
    dataset = dataset_create(user=team_admin, team_id=team_a.pk, name="Season 3")
    for number in range(5):
        make_item(dataset, name=f"ep{number:02d}")
    for image in Slice.objects.filter(dataset=dataset):  # the grid's thumbnails (the rows have no other files)
        folder = storage.tiles_directory(dataset_id=dataset.pk, sha256=image.sha256)
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 160), (230, 230, 240)).save(folder / "thumbnail.jpg")

    log_in(page, live_stack.url, "lead", PASSWORD)
    page.goto(f"{live_stack.url}/labeling/datasets/{dataset.pk}/")
    page.get_by_role("link", name="Tasks and progress").click()
    page.wait_for_url(re.compile(r"/labeling/datasets/\d+/tasks/$"))
    create = page.locator("#task-create")
    create.get_by_label("All items without a task").check()
    create.get_by_label("annotator", exact=True).check()
    create.get_by_label("ann_b", exact=True).check()
    create.get_by_role("button", name="Make tasks").click()
    page.wait_for_load_state()

    assert "5 tasks made for 5 items; 5 assigned, 0 left for" in page.locator(".messages").inner_text()
    # The form lists annotators by name (ann_b first): round-robin starts with ann_b, who gets 3 of 5.
    to_do = {
        person.username: page.locator(f'#progress-annotators tr[data-user="{person.pk}"] [data-state="new"]')
        for person in (annotator, second)
    }
    assert {name: cell.inner_text() for name, cell in to_do.items()} == {"ann_b": "3", "annotator": "2"}
    assert page.locator("#task-list tbody tr").count() == 5
    assignees = page.locator("#task-list .task-assignee").all_inner_texts()
    assert sorted(assignees) == ["ann_b", "ann_b", "ann_b", "annotator", "annotator"]
    assert Task.objects.filter(dataset=dataset, assignee__isnull=True).count() == 0
    assert page_problems.bad_responses == [], page_problems.bad_responses
    assert page_problems.console_errors == []
