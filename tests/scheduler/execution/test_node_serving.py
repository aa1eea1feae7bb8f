"""One worker per node: a worker refuses to start for a node that a live worker on another host
serves (docs/deployment.md "Node roles")."""

import os
import socket
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from portal.ops.models import Heartbeat
from scheduler.execution import node_serving
from scheduler.execution.node_serving import (
    node_servers_elsewhere,
    node_serving_clear,
    node_serving_record,
    node_worker_heartbeat_name,
)
from scheduler.execution.ownership import WORKER_NODES_ENV, WorkerIdentity
from scheduler.management.commands import node_worker
from tests.stack import wait_for

pytestmark = pytest.mark.django_db
HERE = socket.gethostname()


@pytest.fixture
def exec_argv(monkeypatch, settings):
    """The worker's command line, with os.execv caught; its environment restored after."""
    settings.GPU_BACKEND, settings.SIM_FLEET = "simulated", "2x2:A100-80GB"
    for name in (node_worker.DB_POOL_MAX_SIZE_ENV, WORKER_NODES_ENV):
        monkeypatch.setenv(name, "")
    caught = []
    monkeypatch.setattr(node_worker.os, "execv", lambda path, argv: caught.append(argv))
    return caught


def served(node: str, *, host: str, seconds_ago: float = 1.0, instance: str = "other:1:abc") -> None:
    Heartbeat.objects.create(
        name=node_worker_heartbeat_name(node),
        last_seen=timezone.now() - timedelta(seconds=seconds_ago),
        detail={"host": host, "instance": instance},
    )


def test_a_worker_refuses_a_node_that_a_live_worker_on_another_host_serves(exec_argv):
    served("sim-a100-02", host="gpu-host-2")
    with pytest.raises(CommandError) as refused:
        call_command("node_worker", node="sim-a100-02")
    message = str(refused.value)
    assert "node 'sim-a100-02'" in message and "host 'gpu-host-2'" in message and "Stop that worker first" in message
    assert exec_argv == []  # no worker started


def test_a_worker_for_another_node_starts(exec_argv):
    served("sim-a100-02", host="gpu-host-2")
    call_command("node_worker", node="sim-a100-01")
    assert len(exec_argv) == 1 and os.environ[WORKER_NODES_ENV] == "sim-a100-01"


def test_a_worker_serving_every_simulated_node_is_refused_for_the_one_served_elsewhere(exec_argv):
    served("sim-a100-01", host="gpu-host-2")
    with pytest.raises(CommandError, match="node 'sim-a100-01'"):
        call_command("node_worker")


def test_a_node_whose_worker_stopped_beating_may_be_served_again(exec_argv, settings):
    settings.HEALTH_MIN_STALE_SECONDS, settings.WORKER_HEARTBEAT_INTERVAL = 15, 5
    served("sim-a100-02", host="gpu-host-2", seconds_ago=16)
    call_command("node_worker", node="sim-a100-02")
    assert len(exec_argv) == 1


def test_the_same_host_may_start_again_at_once(exec_argv):
    """A restart: the previous process's row is still fresh; its leftovers are the orphan sweep's."""
    served("sim-a100-02", host=HERE)
    call_command("node_worker", node="sim-a100-02")
    assert len(exec_argv) == 1


def test_the_node_name_setting_names_the_node(exec_argv, settings):
    settings.NODE_NAME = "sim-a100-02"
    call_command("node_worker")
    assert os.environ[WORKER_NODES_ENV] == "sim-a100-02"
    assert "node.sim-a100-02" in exec_argv[0][exec_argv[0].index("--queues") + 1].split(",")


@pytest.fixture
def identity(monkeypatch):
    me = WorkerIdentity(
        host="gpu-host-1", instance="gpu-host-1:42:feed", nodes=frozenset({"sim-a100-01", "sim-a100-02"})
    )
    monkeypatch.setattr(node_serving, "worker_identity", lambda: me)
    return me


def test_each_tick_says_which_nodes_this_worker_serves_from_where(identity):
    node_serving_record()
    rows = {row.name: row.detail for row in Heartbeat.objects.all()}
    expected = {"host": "gpu-host-1", "instance": "gpu-host-1:42:feed"}
    assert rows == {"node-worker:sim-a100-01": expected, "node-worker:sim-a100-02": expected}
    assert node_servers_elsewhere(nodes=["sim-a100-01"], host="gpu-host-2")[0].host == "gpu-host-1"
    assert node_servers_elsewhere(nodes=["sim-a100-01"], host="gpu-host-1") == []


def test_shutdown_forgets_only_this_workers_rows(identity):
    node_serving_record()
    Heartbeat.objects.filter(name="node-worker:sim-a100-02").update(detail={"host": "gpu-host-2", "instance": "x"})
    node_serving_clear()
    assert list(Heartbeat.objects.values_list("name", flat=True)) == ["node-worker:sim-a100-02"]


@pytest.mark.django_db(transaction=True)
def test_the_stacks_running_worker_keeps_another_host_from_serving_its_nodes(live_stack, exec_argv, monkeypatch):
    """The real worker's ticks write the rows; a worker started elsewhere for one of its nodes is refused."""
    row = wait_for(
        lambda: Heartbeat.objects.filter(name=node_worker_heartbeat_name("sim-a100-01")).first(),
        what="the stack worker's row for sim-a100-01",  # tests/testenv.py's fleet: 1x4:A100-80GB,1x4:L40S-48GB
    )
    assert row.detail["host"] == HERE
    monkeypatch.setattr(node_worker.socket, "gethostname", lambda: "a-second-gpu-host")
    with pytest.raises(CommandError, match=f"node 'sim-a100-01' by the worker on host '{HERE}'"):
        call_command("node_worker", node="sim-a100-01")
    assert exec_argv == []
