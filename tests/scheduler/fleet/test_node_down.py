"""A node whose agent heartbeat is older than max(3 intervals, 15 s) is down, and nothing is placed on it."""

from datetime import timedelta

import pytest

from scheduler.models import GpuState
from scheduler.selectors.fleet import gpus_placeable, gpus_with_board_state, node_down_after, node_is_up

from .readings import T0, make_gpu

pytestmark = pytest.mark.django_db


def test_the_threshold_is_three_intervals_or_fifteen_seconds_whichever_is_longer(settings):
    settings.NODE_DOWN_INTERVALS, settings.NODE_DOWN_MIN_SECONDS = 3, 15
    settings.AGENT_INTERVAL = 1
    assert node_down_after() == timedelta(seconds=15)
    settings.AGENT_INTERVAL = 10
    assert node_down_after() == timedelta(seconds=30)


@pytest.mark.parametrize(("age", "up"), [(0, True), (14.9, True), (15.1, False)])
def test_a_stale_heartbeat_marks_the_node_down(settings, age, up):
    settings.NODE_DOWN_INTERVALS, settings.NODE_DOWN_MIN_SECONDS, settings.AGENT_INTERVAL = 3, 15, 1
    gpu = make_gpu(node_name="gpu-hb", heartbeat=T0 - timedelta(seconds=age))

    assert node_is_up(node=gpu.node, now=T0) is up
    state = gpus_with_board_state(now=T0).get(pk=gpu.pk).board_state
    assert state == ("available" if up else "node_down")
    assert gpus_placeable(now=T0).filter(pk=gpu.pk).exists() is up


def test_a_node_that_never_reported_is_down():
    gpu = make_gpu(node_name="gpu-silent", heartbeat=None)
    assert gpus_with_board_state(now=T0).get(pk=gpu.pk).board_state == "node_down"


def test_lost_wins_over_node_down_and_drained_gpus_are_not_placeable():
    lost = make_gpu(node_name="gpu-x", index=0, heartbeat=None, state=GpuState.LOST)
    drained = make_gpu(node_name="gpu-y", index=0, heartbeat=T0, state=GpuState.DRAINED, drain_reason="fan")
    states = dict(gpus_with_board_state(now=T0).filter(pk__in=[lost.pk, drained.pk]).values_list("pk", "board_state"))
    assert states == {lost.pk: "lost", drained.pk: "drained"}
    assert not gpus_placeable(now=T0).filter(pk__in=[lost.pk, drained.pk]).exists()


def test_a_drained_node_drains_its_gpus_on_the_board():
    gpu = make_gpu(node_name="gpu-z", heartbeat=T0)
    gpu.node.drained = True
    gpu.node.save()
    assert gpus_with_board_state(now=T0).get(pk=gpu.pk).board_state == "drained"
