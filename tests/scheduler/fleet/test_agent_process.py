"""The agent as a real process in the stack (`manage.py gpu_agent`), against the test database."""

import time

import pytest
from django.utils import timezone

from scheduler.models import Gpu, GpuSample

pytestmark = pytest.mark.stack


def wait_for(predicate, timeout: float = 20.0, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {message}")


def test_the_stack_agent_keeps_the_simulated_fleet_current(live_stack):
    # tests.testenv: ATELIER_SIM_FLEET=1x4:A100-80GB,1x4:L40S-48GB; tables were flushed, so this is a resync
    def fresh():
        recent = timezone.now() - timezone.timedelta(seconds=3)
        return Gpu.objects.filter(node__simulated=True, reading_at__gte=recent).count() == 8

    wait_for(fresh, message="8 simulated GPUs with a fresh reading")
    assert set(Gpu.objects.filter(node__simulated=True).values_list("node__name", flat=True)) == {
        "sim-a100-01",
        "sim-l40s-01",
    }
    wait_for(lambda: GpuSample.objects.filter(gpu__node__simulated=True).count() >= 8, message="a batch of raw samples")


def test_health_reports_the_gpu_agent_and_turns_503_when_it_stops(live_stack):
    status, body = live_stack.health()
    assert status == 200 and "simulated fleet" in body["components"]["gpu_backend"]["detail"]
    live_stack.stop("agent")
    try:

        def down():
            status, body = live_stack.health()
            return status == 503 and body["components"]["gpu_backend"]["ok"] is False

        wait_for(down, timeout=15, message="gpu_backend down after the agent stopped")
    finally:
        live_stack.ensure_running()
        live_stack.wait_healthy()
