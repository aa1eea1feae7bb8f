"""Fault drills ("No healthy job killed"): real workers the test starts with settings of its own,
beside the stack's web, beat and agent. The stack's own worker is stopped for a drill and started
again by the next test's `live_stack`. Drills restart only what they started (docs/decisions.md §10)."""

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from portal.ops.models import Heartbeat
from scheduler.models import Gpu
from tests.stack import BIN, ROOT, Stack, wait_for

A100_NODE, L40S_NODE = "sim-a100-01", "sim-l40s-01"  # the test fleet: 1x4:A100-80GB,1x4:L40S-48GB


def service_mode() -> bool:
    return connection.vendor == "postgresql" and settings.CELERY_BROKER_URL.startswith("redis")


@dataclass
class Drill:
    stack: Stack
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def node_worker(self, name: str, *args: str, env: dict | None = None) -> None:
        """`manage.py node_worker` as a person starts it, named `name`, with extra settings."""
        self._start(name, [sys.executable, "manage.py", "node_worker", "--hostname", f"{name}@%h", *args], env)

    def housekeeping_worker(self, name: str = "housekeeping", env: dict | None = None) -> None:
        """A worker for the default queue only (scheduling passes, the reaper): it runs no job."""
        argv = [
            str(BIN / "celery"),
            "-A",
            "portal",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            "2",
            "--queues",
            "default",
            "--hostname",
            f"{name}@%h",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "INFO",
        ]
        self._start(name, argv, env)

    def agent(self, name: str, node: str) -> None:
        """`manage.py gpu_agent --node NODE`: the agent of one simulated node, as on that node's host."""
        started = timezone.now()
        self._start(name, [sys.executable, "manage.py", "gpu_agent", "--node", node], None, wait=False)
        wait_for(
            lambda: Gpu.objects.filter(node__name=node, node__last_heartbeat__gte=started).exists(),
            timeout=60,
            what=f"agent {name} reporting {node}",
        )

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill the worker's process group. Its jobs run in sessions of their own, outside it, but a
        SIGKILLed worker's jobs stop on their own: their lifelines close with it (docs/jobs.md)."""
        process = self.processes.pop(name)
        os.killpg(process.pid, sig)
        process.wait(30)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.kill(name)

    def log(self, name: str) -> str:
        return (self.stack.log_dir / f"drill-{name}.log").read_text(errors="replace")

    def log_tails(self, lines: int = 60) -> str:
        """The last lines of every process the drill started (killed ones too), of a second web process and of the stack's own."""
        logs = sorted(self.stack.log_dir.glob("*.log"))
        return "\n".join(
            f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) for log in logs
        )

    def _start(self, name: str, argv: list[str], env: dict | None, *, wait: bool = True) -> None:
        log = open(self.stack.log_dir / f"drill-{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**self.stack.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if not wait:
            return
        started = timezone.now()
        wait_for(
            lambda: Heartbeat.objects.filter(name__startswith=f"worker:{name}@", last_seen__gte=started).exists(),
            timeout=60,
            what=f"worker {name} up",
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed drill's report carries its processes' logs: CI keeps nothing else of them."""
    report = yield
    drill = getattr(item, "funcargs", {}).get("drill")
    if report.failed and isinstance(drill, Drill):
        report.sections.append(("drill processes' logs", drill.log_tails()))
    return report


@pytest.fixture
def drill(live_stack):
    wait_for(
        lambda: (
            Gpu.objects.filter(node__last_heartbeat__gte=timezone.now() - timezone.timedelta(seconds=5)).count() >= 8
        ),
        what="fleet up",
    )
    live_stack.stop("worker")
    running = Drill(stack=live_stack)
    try:
        yield running
    finally:
        running.stop_all()  # their jobs' groups stop with them (lifelines), or the agent stops them


@pytest.fixture
def service_only():
    if not service_mode():
        pytest.skip("a drill against PostgreSQL and Redis: service mode only (docs/testing.md)")


def recovery_record(drill_name: str, **seconds: float) -> None:
    """Recovery times for bench/recovery.py: appended as JSON lines where ATELIER_DRILL_REPORT says."""
    path = os.environ.get("ATELIER_DRILL_REPORT")
    if path:
        with open(path, "a") as report:
            report.write(json.dumps({"drill": drill_name, **{k: round(v, 2) for k, v in seconds.items()}}) + "\n")


def model_of(node: str) -> str:
    """The GPU model of a node of the test fleet, as the inventory names it (a job asks for it)."""
    return Gpu.objects.filter(node__name=node).values_list("model", flat=True).first()


def ticking(seconds: int, *, label: str = "tick") -> str:
    """A job that prints a numbered line each second: a complete, ordered log is 1..seconds."""
    return f'for i in $(seq {seconds}); do echo "{label} $i"; sleep 1; done'


def ticks(text: str, label: str = "tick") -> list[int]:
    return [int(line.split()[1]) for line in text.splitlines() if line.startswith(f"{label} ")]
