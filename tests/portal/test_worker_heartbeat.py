"""The worker's heartbeat says it consumes: the thread writes `worker:<hostname>` only while the
consumer's event loop ticked lately (portal.ops.worker); the apps' hooks run either way. The real
consumer's tick is exercised by the stack (tests/portal/test_celery_worker.py) and the Redis drill."""

import time

import pytest
from django.conf import settings

from portal.ops import worker
from portal.ops.models import Heartbeat

pytestmark = pytest.mark.django_db(transaction=True)  # the tick closes old connections, as in the worker


@pytest.fixture
def hooks_run(monkeypatch):
    ran = []
    monkeypatch.setattr(worker, "_tick_hooks", [lambda: ran.append(True)])
    return ran


def consumer_ticked(monkeypatch, seconds_ago: float) -> None:
    monkeypatch.setattr(worker, "_consumer_ticked_at", time.monotonic() - seconds_ago)


def test_it_writes_the_heartbeat_while_the_consumer_ticks(monkeypatch, hooks_run):
    consumer_ticked(monkeypatch, seconds_ago=0)
    assert worker.heartbeat_tick("node@host") is False
    assert Heartbeat.objects.filter(name="worker:node@host").exists()
    assert hooks_run == [True]


def test_it_writes_no_heartbeat_once_the_consumer_is_silent_but_still_runs_the_hooks(monkeypatch, hooks_run):
    silent_after = worker.CONSUMER_SILENT_AFTER_INTERVALS * settings.WORKER_HEARTBEAT_INTERVAL
    consumer_ticked(monkeypatch, seconds_ago=silent_after + 1)
    assert worker.heartbeat_tick("node@host") is True
    assert not Heartbeat.objects.filter(name="worker:node@host").exists()
    assert hooks_run == [True]


def test_it_writes_no_heartbeat_before_the_consumer_first_ticked(monkeypatch, hooks_run):
    monkeypatch.setattr(worker, "_consumer_ticked_at", None)
    assert worker.heartbeat_tick("node@host") is True
    assert not Heartbeat.objects.filter(name="worker:node@host").exists()
