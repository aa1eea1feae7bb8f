"""20 annotators asking for their next task at once each get a different task (both databases), and on
SQLite they wait for each other on a lock, not in the busy handler's back-off."""

import fcntl
import threading
import time

import pytest
from django.db import connection

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


def test_on_sqlite_claims_wait_their_turn_in_the_kernel_not_in_the_busy_handler(dataset, researcher, annotator):
    """A claim blocks on the database's claim lock while another holds it and goes on the moment it is
    let go (no back-off sleep); PostgreSQL claims never wait for it (SKIP LOCKED lets them pass)."""
    make_item(dataset, name="strip", heights=(1000,))
    tasks_create(dataset=dataset, user=researcher)
    claimed = {}

    def claim():
        claimed["task"] = task_next(user=annotator)
        claimed["at"] = time.monotonic()
        connection.close()

    sqlite = connection.vendor == "sqlite"
    path = f"{connection.settings_dict['NAME']}.claims.lock" if sqlite else "/dev/null"
    with open(path, "a") as held:
        if sqlite:
            fcntl.flock(held, fcntl.LOCK_EX)
        worker = threading.Thread(target=claim)
        worker.start()
        worker.join(timeout=1.0)
        assert worker.is_alive() == sqlite  # SQLite: still waiting for the lock this test holds
        released = time.monotonic()
        if sqlite:
            fcntl.flock(held, fcntl.LOCK_UN)
    worker.join(timeout=10)
    assert claimed["task"] is not None and claimed["task"].assignee_id == annotator.pk
    if sqlite:
        assert claimed["at"] - released < 0.5  # woken by the release, not by a polling sleep
