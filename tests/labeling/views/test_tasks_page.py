"""The dataset's tasks page: progress for the team's reviewers, researchers and admins; forms that
make, hand out, take back and route tasks for those who assign; refusals shown on the page (a 400)."""

import pytest

from labeling.models import Task
from tests.factories import MembershipFactory, UserFactory
from tests.labeling.builders import make_item, make_task

pytestmark = pytest.mark.django_db


def page(dataset) -> str:
    return f"/labeling/datasets/{dataset.pk}/tasks/"


def test_the_dataset_page_links_the_tasks_page_and_its_filter(client, dataset, researcher, annotator):
    make_item(dataset, name="a")
    client.force_login(researcher)
    body = client.get(f"/labeling/datasets/{dataset.pk}/?status=new").content.decode()
    assert f'href="{page(dataset)}" id="tasks-link"' in body
    assert f'href="{page(dataset)}?status=new" id="tasks-for-filter"' in body
    client.force_login(annotator)
    assert 'id="tasks-link"' not in client.get(f"/labeling/datasets/{dataset.pk}/").content.decode()


def test_a_lead_makes_tasks_round_robin_and_sees_progress(client, dataset, team_admin, annotator, team_a):
    second = MembershipFactory(team=team_a, user=UserFactory(username="ann_b"), is_annotator=True).user
    for i in range(3):
        make_item(dataset, name=f"p{i}")
    client.force_login(team_admin)
    response = client.post(
        page(dataset),
        {"action": "create", "scope": "untasked", "overlap": "1", "annotators": [annotator.pk, second.pk]},
        follow=True,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "3 tasks made for 3 items; 3 assigned, 0 left for" in body
    assert f'<tr data-user="{annotator.pk}"><td>annotator</td><td data-state="new">2</td>' in body
    assert f'<tr data-user="{second.pk}"><td>ann_b</td><td data-state="new">1</td>' in body


def test_selection_by_name_then_reassign_take_back_and_route(client, dataset, researcher, annotator, reviewer):
    make_item(dataset, name="ep1")
    chosen = make_item(dataset, name="ep2")
    client.force_login(researcher)
    client.post(page(dataset), {"action": "create", "scope": "selection", "items": "ep2", "overlap": "1"})
    task = Task.objects.get()
    assert task.item_id == chosen.pk and task.assignee_id is None
    client.post(page(dataset), {"action": "assign", "tasks": [task.pk], "annotators": [annotator.pk]})
    client.post(page(dataset), {"action": "reviewer", "tasks": [task.pk], "reviewer": reviewer.pk})
    task.refresh_from_db()
    assert (task.assignee_id, task.reviewer_id) == (annotator.pk, reviewer.pk)
    body = client.get(page(dataset) + f"?assignee={annotator.pk}").content.decode()
    assert f'<tr data-task="{task.pk}">' in body and '<td class="task-reviewer">reviewer</td>' in body
    client.post(page(dataset), {"action": "take_back", "tasks": [task.pk]})
    assert Task.objects.get().assignee_id is None


def test_refusals_render_the_form_again_with_a_400(client, dataset, researcher, annotator):
    make_item(dataset, name="ep1")
    client.force_login(researcher)
    unknown = client.post(page(dataset), {"action": "create", "scope": "selection", "items": "ep1\nnope"})
    assert unknown.status_code == 400
    assert "items: Not items of this dataset: nope." in unknown.content.decode()
    assert ">ep1\nnope</textarea>" in unknown.content.decode()
    too_few = client.post(
        page(dataset), {"action": "create", "scope": "all", "overlap": "2", "annotators": [annotator.pk]}
    )
    assert too_few.status_code == 400 and "2 annotators per item need at least 2" in too_few.content.decode()
    nothing = client.post(page(dataset), {"action": "assign", "annotators": [annotator.pk]})
    assert nothing.status_code == 400 and "Choose at least one task." in nothing.content.decode()
    assert Task.objects.count() == 0


def test_who_sees_and_who_changes(client, dataset, annotator, reviewer, outsider):
    make_task(make_item(dataset, name="a"))
    client.force_login(reviewer)
    seen = client.get(page(dataset))
    assert seen.status_code == 200 and 'id="task-create"' not in seen.content.decode()
    assert client.post(page(dataset), {"action": "create"}).status_code == 403
    client.force_login(annotator)
    assert client.get(page(dataset)).status_code == 403
    client.force_login(outsider)
    assert client.get(page(dataset)).status_code == 404
