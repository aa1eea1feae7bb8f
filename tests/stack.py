"""The session-scoped stack of real processes (docs/decisions.md §10).

One test database (a SQLite file with WAL + IMMEDIATE, or PostgreSQL's test database) is shared by
this test process and by subprocesses started once per session: the ASGI server (uvicorn), a Celery
worker, Celery beat and the GPU agent (simulated fleet). Tests that use the stack ask for
`live_stack`, which also flushes the tables after each test (`transactional_db`).
"""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
READY_TIMEOUT = 90.0
# The web server's options, as deploy/supervisord.conf gives them (docs/architecture.md).
UVICORN_OPTIONS = ["--no-access-log", "--no-proxy-headers", "--lifespan", "off", "--timeout-graceful-shutdown", "5"]
FLUSH_ATTEMPTS = 5


def _flush_retrying_deadlocks() -> None:
    """On PostgreSQL the flush between tests is one TRUNCATE of every table, taking its locks in no
    fixed order while the stack's processes (agent, worker, beat, web) keep querying; a statement
    that reads two tables can then deadlock with it, and PostgreSQL cancels the TRUNCATE. Its
    transaction is rolled back whole, so trying again is safe."""
    from django.core.management.base import CommandError
    from django.test import TransactionTestCase

    teardown = TransactionTestCase._fixture_teardown

    def _fixture_teardown(self):
        for attempt in range(FLUSH_ATTEMPTS):
            try:
                return teardown(self)
            except CommandError as exc:
                if "deadlock detected" not in str(exc.__cause__) or attempt == FLUSH_ATTEMPTS - 1:
                    raise
                time.sleep(0.2)

    TransactionTestCase._fixture_teardown = _fixture_teardown


_flush_retrying_deadlocks()


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll until `predicate()` is truthy and return its value; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not reached in {timeout} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    """The URL of the database pytest-django created, for the subprocesses."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


@dataclass
class Stack:
    url: str
    env: dict
    log_dir: Path
    commands: dict[str, list[str]]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            self.commands[name], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout)

    def ensure_running(self) -> None:
        for name in self.commands:
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                self.start(name)

    def health(self) -> tuple[int, dict]:
        response = httpx.get(f"{self.url}/healthz", timeout=5)
        return response.status_code, response.json()

    def wait_healthy(self, timeout: float = READY_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.tail(name)}")
            try:
                status, last = self.health()
                if status == 200:
                    return last
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
        logs = "\n".join(f"--- {name}\n{self.tail(name)}" for name in self.commands)
        raise RuntimeError(f"stack not healthy after {timeout}s: {last}\n{logs}")

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def shutdown(self) -> None:
        for name in list(self.processes):
            self.stop(name)


def stack_environment(port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "PYTEST_CURRENT_TEST")}
    env.update(
        DATABASE_URL=test_database_url(),
        SECRET_KEY=settings.SECRET_KEY,  # sessions made in the test process are valid in the web process
        DJANGO_SETTINGS_MODULE="portal.settings",
        PYTHONUNBUFFERED="1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    return env


def stack_commands(port: int) -> dict[str, list[str]]:
    return {
        "web": [
            str(BIN / "uvicorn"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *UVICORN_OPTIONS,
            "portal.asgi:application",
        ],
        # The node worker: the default queue and every simulated node's queue, one slot per GPU.
        "worker": [sys.executable, "manage.py", "node_worker", "--hostname", "test-worker@%h"],
        "beat": [str(BIN / "celery"), "-A", "portal", "beat", "--loglevel", "INFO"],
        "agent": [sys.executable, str(ROOT / "manage.py"), "gpu_agent"],
    }


@pytest.fixture(scope="session")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    port = free_port()
    log_dir = tmp_path_factory.mktemp("stack-logs")
    with django_db_blocker.unblock():
        env = stack_environment(port)
    running = Stack(url=f"http://127.0.0.1:{port}", env=env, log_dir=log_dir, commands=stack_commands(port))
    running.ensure_running()
    try:
        running.wait_healthy()
        yield running
    finally:
        running.shutdown()


@pytest.fixture
def live_stack(stack, transactional_db):
    """The running stack, with every process up and healthy, and tables flushed after the test."""
    stack.ensure_running()
    stack.wait_healthy()
    return stack


@pytest.fixture
def second_web(live_stack):
    """A second web process beside the stack's, on the same database and broker: its URL."""
    port = free_port()
    argv = [
        str(BIN / "uvicorn"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *UVICORN_OPTIONS,
        "portal.asgi:application",
    ]
    # In the stack's log folder, so a failed drill's report carries its tail beside the others'.
    with open(live_stack.log_dir / "second-web.log", "ab") as log:
        process = subprocess.Popen(argv, cwd=ROOT, env=live_stack.env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url), timeout=60, what="the second web process")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/accounts/login/", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def sign_in(url: str, username: str) -> httpx.Cookies:
    """The login form, as a browser submits it, on the web process at `url`."""
    from tests.factories import PASSWORD

    with httpx.Client(base_url=url, timeout=10) as client:
        client.get("/accounts/login/")
        answer = client.post(
            "/accounts/login/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
            headers={"Referer": f"{url}/accounts/login/"},
        )
        assert answer.status_code == 302, answer.text[:300]
        return client.cookies
