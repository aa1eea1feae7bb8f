"""The reaper judges heartbeats only after watching them a full TTL without a pause, and requeues a
lost attempt only once its processes are known gone or its runner and node have been silent past the
node-down grace (which settings keep above the outage grace + TTL)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from scheduler.execution.reaper import attempts_reap, lost_attempts_requeue
from scheduler.models import Attempt, AttemptState, Node
from scheduler.services.jobs import attempt_finish
from tests.scheduler.factories import fleet, running_job

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TTL, GAP, GRACE = timedelta(seconds=60), timedelta(seconds=45), timedelta(seconds=900)


@pytest.fixture
def attempt(db, researcher):
    from scheduler.models import Gpu

    Gpu.objects.update(state="drained")  # a session stack's agent may have written its fleet here
    gpus = fleet(nodes=1, per_node=1, prefix="reap")
    Node.objects.filter(pk=gpus[0].node_id).update(last_heartbeat=T0)
    with time_machine.travel(T0, tick=False):
        return running_job(researcher)[1]


def reap_at(instant):
    with time_machine.travel(instant, tick=False):
        return attempts_reap(heartbeat_ttl=TTL, gap=GAP)


def test_after_a_pause_the_reaper_watches_a_full_ttl_before_calling_anyone_lost(attempt):
    assert reap_at(T0) == []  # first pass: starts watching
    # The database was away for ten minutes: nobody could heartbeat, nobody is judged yet.
    assert reap_at(T0 + timedelta(minutes=10)) == []
    assert reap_at(T0 + timedelta(minutes=10, seconds=30)) == []
    assert reap_at(T0 + timedelta(minutes=10, seconds=61)) == [attempt.pk]


def test_passes_without_a_pause_judge_a_silent_runner_after_the_ttl(attempt):
    for second in range(0, 61, 15):
        assert reap_at(T0 + timedelta(seconds=second)) == []
    assert reap_at(T0 + timedelta(seconds=75)) == [attempt.pk]


def lost(attempt, *, node_seen_at):
    Node.objects.filter(pk=attempt.node_id).update(last_heartbeat=node_seen_at)
    with time_machine.travel(T0 + TTL, tick=False):
        attempt_finish(attempt=attempt, state=AttemptState.LOST, reason="no heartbeat")


def requeue_at(instant):
    with time_machine.travel(instant, tick=False):
        return lost_attempts_requeue(node_down_grace=GRACE)


def test_a_lost_attempt_whose_processes_are_gone_is_requeued_at_once(attempt):
    Attempt.objects.filter(pk=attempt.pk).update(pgid=4242)
    lost(attempt, node_seen_at=T0 + TTL)
    assert requeue_at(T0 + TTL) == []
    Attempt.objects.filter(pk=attempt.pk).update(processes_gone_at=T0 + TTL)
    assert requeue_at(T0 + TTL) == [attempt.job_id]


def test_unconfirmed_it_waits_until_runner_and_node_are_silent_past_the_grace(attempt):
    Attempt.objects.filter(pk=attempt.pk).update(pgid=4242)
    lost(attempt, node_seen_at=T0)
    assert requeue_at(T0 + GRACE - timedelta(seconds=1)) == []  # the runner may still be fencing
    assert requeue_at(T0 + GRACE + timedelta(seconds=1)) == [attempt.job_id]


def test_a_node_that_still_reports_keeps_an_unconfirmed_attempt_waiting(attempt):
    Attempt.objects.filter(pk=attempt.pk).update(pgid=4242)
    lost(attempt, node_seen_at=T0 + GRACE * 2)
    assert requeue_at(T0 + GRACE + timedelta(seconds=1)) == []
