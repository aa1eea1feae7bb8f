"""The node worker opens its connections without a pool: a runner keeps its thread's connection for
its job's whole run, so its threads bound them (docs/configuration.md "Database connections")."""

import os

import pytest
from django.core.management import call_command

from scheduler.execution.ownership import WORKER_NODES_ENV
from scheduler.management.commands import node_worker

pytestmark = pytest.mark.django_db  # the worker checks that no other host serves its nodes


@pytest.fixture
def exec_argv(monkeypatch):
    """The worker's command line, with os.execv caught; the environment it sets is restored after."""
    for name in (node_worker.DB_POOL_MAX_SIZE_ENV, WORKER_NODES_ENV):
        monkeypatch.setenv(name, "")  # monkeypatch restores both after the command overwrites them
    caught = []
    monkeypatch.setattr(node_worker.os, "execv", lambda path, argv: caught.append(argv))
    return caught


@pytest.mark.parametrize("pool", [20, 0])
def test_a_node_worker_runs_without_a_pool(settings, exec_argv, pool):
    """Its threads bound its connections; across a database cut the pool's stuck reconnects lost a
    requeued attempt again (tests/scheduler/drills/test_no_healthy_job_killed.py)."""
    settings.DB_POOL_MAX_SIZE, settings.GPU_BACKEND, settings.SIM_FLEET = pool, "simulated", "4x8:A100-80GB"
    call_command("node_worker")
    assert os.environ[node_worker.DB_POOL_MAX_SIZE_ENV] == "0"
    assert int(exec_argv[0][exec_argv[0].index("--concurrency") + 1]) >= 32


def test_a_node_worker_serves_the_inference_queue_beside_default(settings, exec_argv):
    """Model serving's queue (docs/models.md "Serving"): the stack's and `make run`'s worker take it."""
    settings.GPU_BACKEND, settings.SIM_FLEET = "simulated", "1x2:A100-80GB"
    call_command("node_worker")
    queues = exec_argv[0][exec_argv[0].index("--queues") + 1].split(",")
    assert "default" in queues and "inference" in queues
