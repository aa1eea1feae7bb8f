"""A real Celery worker subprocess runs tasks through this run's broker (filesystem or Redis)."""

import time
import uuid

import pytest

from portal.ops.models import Heartbeat
from portal.ops.tasks import probe

pytestmark = pytest.mark.stack


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_a_task_sent_to_the_broker_runs_in_the_worker(live_stack):
    name = uuid.uuid4().hex
    probe.delay(name=name)
    assert wait_for(lambda: Heartbeat.objects.filter(name=f"probe:{name}").exists())


def test_the_worker_and_beat_keep_heartbeating(live_stack):
    Heartbeat.objects.all().delete()
    assert wait_for(lambda: Heartbeat.objects.filter(name__startswith="worker:").exists())
    assert wait_for(lambda: Heartbeat.objects.filter(name="beat").exists())
