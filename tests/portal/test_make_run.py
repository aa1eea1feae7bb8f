"""`make run`'s process manager (supervisord with deploy/supervisord.conf): a process that dies is
started again, and Ctrl-C (SIGINT) stops every process. Its own var folder and key prefixes keep its
processes out of the test stack's queues; they share the test database."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.stack import BIN, ROOT, free_port, stack_environment, wait_for

pytestmark = pytest.mark.stack

PROGRAMS = {
    "web": "portal.asgi:application",
    "worker": "-A portal worker",
    "beat": "-A portal beat",
    "agent": "manage.py gpu_agent",
}


def children(parent: int) -> dict[str, int]:
    """The program each child of `parent` runs (by its command line), and its pid."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != parent:
                continue
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
        for name, marker in PROGRAMS.items():
            if marker in command:
                found[name] = int(stat.parent.name)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def supervisord(transactional_db, tmp_path):
    port = free_port()
    env = stack_environment(port) | {
        "ATELIER_HOST": "127.0.0.1",
        "ATELIER_PORT": str(port),
        "ATELIER_VAR_DIR": str(tmp_path / "var"),
        "CELERY_KEY_PREFIX": f"make-run-{port}:",
        "CHANNELS_KEY_PREFIX": f"make-run-{port}",
    }
    log = open(tmp_path / "supervisord.log", "ab")
    process = subprocess.Popen(
        [str(BIN / "supervisord"), "-c", str(ROOT / "deploy" / "supervisord.conf")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        for pid in children(process.pid).values():
            os.kill(pid, signal.SIGKILL)


def test_a_killed_process_is_started_again_and_ctrl_c_stops_them_all(supervisord):
    running = wait_for(lambda: (found := children(supervisord.pid)).keys() == PROGRAMS.keys() and found, timeout=60)
    time.sleep(4)  # past startsecs: a death now is a crash, not a failed start
    os.kill(running["worker"], signal.SIGKILL)
    again = wait_for(
        lambda: (pid := children(supervisord.pid).get("worker")) not in (None, running["worker"]) and pid,
        timeout=30,
        what="the worker started again",
    )
    assert all(alive(running[name]) for name in ("web", "beat", "agent"))  # the others ran on

    supervisord.send_signal(signal.SIGINT)
    supervisord.wait(60)
    survivors = [pid for pid in [*running.values(), again] if alive(pid)]
    assert survivors == []
