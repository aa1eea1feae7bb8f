"""A Redis restart mid-job (docs/jobs.md "When things fall over"). The drill's node worker reaches
Redis, broker and channel layer, through a proxy the test owns: `cut()` is Redis going away
(connections reset, new ones closed at once) and `restore()` its return. What a restart without
persistence loses, every Celery key of this run (queues, unacknowledged messages, bindings), is
deleted at the cut and again at the return: messages published meanwhile by beat, the web and this
test went to the real server and are gone too. The machine's Redis is never restarted
(docs/testing.md "Fault drills")."""

import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings

from portal.ops.models import Heartbeat
from portal.ops.tasks import probe
from scheduler.models import Attempt
from tests.scheduler.drills.conftest import recovery_record, ticking, ticks
from tests.scheduler.jobs.test_job_execution import final, log_text, submit
from tests.stack import wait_for
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.stack

OUTAGE_SECONDS = 15
HOLDING_SECONDS = 30  # two jobs of 4 GPUs: the whole test fleet, through the outage


def through(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.hostname}:{proxy.port}"))


def lose_what_a_restart_loses() -> None:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for key in client.scan_iter(match=f"{settings.CELERY_BROKER_TRANSPORT_OPTIONS['global_keyprefix']}*"):
        client.delete(key)
    client.close()


def worker_healthy(stack) -> bool:
    return stack.health()[1]["components"]["worker"]["ok"]


def consumed_a_probe(name: str) -> bool:
    """A probe task ran. Sent again on each call: a message published before the worker declared its
    queue again (its binding went with the restart) is dropped by Redis's routing, as in production."""
    if Heartbeat.objects.filter(name=f"probe:{name}").exists():
        return True
    probe.delay(name=name)
    return False


def test_a_redis_restart_mid_job_costs_no_job_and_the_same_worker_consumes_again(drill, researcher, service_only):
    """Two jobs hold every GPU when Redis goes away for 15 s; two more wait for GPUs, two are
    submitted during the outage. Every job succeeds with one attempt and a complete log; the same
    worker process consumes again soon after Redis returns; /healthz names the worker unhealthy while
    it consumed nothing, and healthy again after."""
    proxy = TcpProxy(upstream_port=urlsplit(settings.CELERY_BROKER_URL).port or 6379)
    try:
        env = {"CELERY_BROKER_URL": through(proxy, settings.CELERY_BROKER_URL)}
        env["REDIS_URL"] = through(proxy, settings.REDIS_URL)
        drill.node_worker("outage", env=env)
        worker = drill.processes["outage"]
        holding = [submit(researcher, command=ticking(HOLDING_SECONDS), gpus=4) for _ in range(2)]
        for job in holding:
            wait_for(lambda job=job: Attempt.objects.filter(job=job, state="running").exists(), what="holding")
        waiting = [submit(researcher, command=ticking(3), gpus=4) for _ in range(2)]
        time.sleep(2)

        proxy.cut()
        lose_what_a_restart_loses()
        cut_at = time.monotonic()
        during = [submit(researcher, command=ticking(3), gpus=2) for _ in range(2)]
        wait_for(lambda: not worker_healthy(drill.stack), timeout=OUTAGE_SECONDS, what="/healthz naming the worker")
        red_after = time.monotonic() - cut_at
        time.sleep(max(0.0, OUTAGE_SECONDS - red_after))
        assert not worker_healthy(drill.stack)
        lose_what_a_restart_loses()
        proxy.restore()
        restored_at = time.monotonic()

        name = uuid.uuid4().hex
        wait_for(lambda: consumed_a_probe(name), timeout=60, interval=1, what="the worker consuming again")
        consuming_after = time.monotonic() - restored_at
        wait_for(lambda: worker_healthy(drill.stack), timeout=30, what="/healthz green again")
        recovery_record(
            f"Redis restart, down {OUTAGE_SECONDS} s",
            worker_unhealthy_after_cut=red_after,
            consuming_again_after_restore=consuming_after,
        )
        assert worker.poll() is None, "the worker exited instead of reconnecting"
        for job in holding + waiting + during:
            job = final(job, timeout=HOLDING_SECONDS + 60)
            assert job.state == "succeeded", job.state_reason
            assert list(Attempt.objects.filter(job=job).values_list("state", flat=True)) == ["succeeded"]
            seconds = HOLDING_SECONDS if job in holding else 3
            assert ticks(log_text(researcher, job)) == list(range(1, seconds + 1))
        assert "Unrecoverable error" not in drill.log("outage")
    finally:
        proxy.close()
