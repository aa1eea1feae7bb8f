"""Drained time in the GPU time split (issue 24): read from the audit log's drain and undrain entries,
per GPU and per node, only what has passed, never while the GPU held a job or a booking."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import override_settings

from scheduler.models import Gpu, GpuState
from scheduler.services.drain import gpu_drain, gpu_undrain, node_drain
from tests.actors import api_client_for
from tests.scheduler.factories import booking, fleet

pytestmark = pytest.mark.django_db


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def drained(admin, researcher):
    """Two nodes of two GPUs. GPU 0 drained 02:00–05:00 UTC; node 1 drained from 08:00 UTC (GPU 3 booked
    09:00–10:00 all the same); GPU 1 drained before the audit log knew of it (no entry)."""
    g0, g1, g2, g3 = gpus = fleet(nodes=2, per_node=2)
    with time_machine.travel(utc(2026, 11, 9, 12), tick=False):
        booking(user=researcher, gpus=[g3], start=utc(2026, 11, 10, 9), end=utc(2026, 11, 10, 10))
    with time_machine.travel(utc(2026, 11, 10, 2), tick=False):
        gpu_drain(gpu=g0, by=admin, reason="fan noise")
    with time_machine.travel(utc(2026, 11, 10, 5), tick=False):
        gpu_undrain(gpu=g0, by=admin)
    with time_machine.travel(utc(2026, 11, 10, 8), tick=False):
        node_drain(node=g2.node, by=admin, reason="rack move")
    Gpu.objects.filter(pk=g1.pk).update(state=GpuState.DRAINED)
    return gpus


def split(user):
    with override_settings(TIME_ZONE="UTC"), time_machine.travel(utc(2026, 11, 10, 12), tick=False):
        response = api_client_for(user).get("/api/v1/reports/split/?range=day&date=2026-11-10")
    assert response.status_code == 200, response.content
    return response.json()["rows"]


def test_drained_hours_come_from_drains_and_undrains_and_never_count_held_or_future_time(drained, admin):
    rows = split(admin)
    steps, total = rows[:-1], rows[-1]

    # GPU 0: 3 h; GPU 1: 00:00–12:00 = 12 h; node 1 (GPUs 2 and 3): 08:00–12:00 = 8 h less GPU 3's booked hour.
    assert total["drained_gpu_hours"] == 3 + 12 + 7
    assert (
        total["capacity_gpu_hours"] == 96.0 and total["booked_used_gpu_hours"] + total["booked_idle_gpu_hours"] == 1.0
    )
    assert total["free_gpu_hours"] == 96 - 1 - 22
    assert [s["drained_gpu_hours"] for s in steps[:12]] == [1, 1, 2, 2, 2, 1, 1, 1, 3, 2, 3, 3]
    assert all(s["drained_gpu_hours"] == 0 for s in steps[12:])  # the future: nothing has passed yet
