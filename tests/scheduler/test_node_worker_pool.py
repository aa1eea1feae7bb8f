"""The node worker's connection pool holds one connection per thread: a runner keeps its thread's
connection for its job's whole run, so a pool smaller than the thread count would leave runners
waiting, then failing (docs/configuration.md "Database connections")."""

import os

import pytest
from django.core.management import call_command

from scheduler.execution.ownership import WORKER_NODES_ENV
from scheduler.management.commands import node_worker


@pytest.fixture
def exec_argv(monkeypatch):
    """The worker's command line, with os.execv caught; the environment it sets is restored after."""
    for name in (node_worker.DB_POOL_MAX_SIZE_ENV, WORKER_NODES_ENV):
        monkeypatch.setenv(name, "")  # monkeypatch restores both after the command overwrites them
    caught = []
    monkeypatch.setattr(node_worker.os, "execv", lambda path, argv: caught.append(argv))
    return caught


@pytest.mark.parametrize(("pool", "fleet", "expected"), [(20, "4x8:A100-80GB", 36), (20, "1x4:L40S-48GB", 20)])
def test_the_pool_holds_every_thread_of_the_worker(settings, exec_argv, pool, fleet, expected):
    settings.DB_POOL_MAX_SIZE, settings.GPU_BACKEND, settings.SIM_FLEET = pool, "simulated", fleet
    call_command("node_worker")
    threads = int(exec_argv[0][exec_argv[0].index("--concurrency") + 1])
    assert int(os.environ[node_worker.DB_POOL_MAX_SIZE_ENV]) == expected >= threads + 2


def test_without_a_pool_the_worker_leaves_it_off(settings, exec_argv):
    settings.DB_POOL_MAX_SIZE, settings.GPU_BACKEND, settings.SIM_FLEET = 0, "simulated", "4x8:A100-80GB"
    call_command("node_worker")
    assert os.environ[node_worker.DB_POOL_MAX_SIZE_ENV] == ""
