"""20 annotators asking for their next task at once each get a different task (both databases)."""

import pytest

from labeling.models import Task
from labeling.services.annotation_tasks import task_next, tasks_create
from portal.teams.models import Membership
from tests.factories import UserFactory
from tests.labeling.annotation.conftest import make_item
from tests.scheduler.race import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_annotators_racing_for_next_task_get_twenty_different_tasks(dataset, researcher, team_a):
    for number in range(30):
        make_item(dataset, name=f"strip-{number}", heights=(1000,))
    tasks_create(dataset=dataset, user=researcher)
    people = [UserFactory(username=f"racer{n}") for n in range(20)]
    Membership.objects.bulk_create([Membership(team=team_a, user=p, is_annotator=True) for p in people])

    outcomes = race(lambda i: f"task {task_next(user=people[i]).pk}", attempts=20)

    assert all(label.startswith("task ") for label in outcomes), outcomes
    assert len(outcomes) == 20 and set(outcomes.values()) == {1}  # 20 distinct tasks, one each
    assert Task.objects.filter(assignee__isnull=False).count() == 20
