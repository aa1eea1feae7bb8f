"""Running a job's command in its own process group, and making sure nothing of it survives."""

import os
import pwd
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

# Set in every job's environment: tells an attempt's processes apart from a recycled pid or group id.
ATTEMPT_MARKER = "ATELIER_ATTEMPT_ID"


@dataclass
class JobProcess:
    popen: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def pgid(self) -> int:
        return self.popen.pid  # start_new_session=True: the leader's pid is the group id


def process_start(*, command: str, cwd: str, env: dict, log_path: Path, user: str | None = None) -> JobProcess:
    """Start `command` through /bin/sh in a new session (so a new process group), output to log_path.

    `user`: run as this account (docs/decisions.md §6: a root worker runs jobs unprivileged). Its own group
    and no supplementary groups, or the job would keep root's group (gid 0) and its file access."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    identity = {}
    if user:
        account = pwd.getpwnam(user)
        identity = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        env = {**env, "HOME": account.pw_dir, "USER": account.pw_name, "LOGNAME": account.pw_name}
    with open(log_path, "ab") as log:
        popen = subprocess.Popen(
            ["/bin/sh", "-c", command],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **identity,
        )
    return JobProcess(popen=popen, log_path=log_path)


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a group, read from /proc (GPU nodes are Linux)."""
    return process_groups().get(pgid, [])


def process_groups() -> dict[int, list[int]]:
    """Every live (non-zombie) process by its group, in one pass over /proc: callers that look at
    several groups (the agent, every tick) read /proc once, not once a group.

    A zombie still answers kill(pid, 0), but holds no memory and no GPU: it does not count.
    """
    groups: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command name: state, ppid, pgrp, ...
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            groups.setdefault(int(fields[2]), []).append(int(entry.name))
    return groups


def group_alive(pgid: int) -> bool:
    return bool(group_members(pgid))


def group_terminate(*, pgid: int, grace_seconds: float, popen: subprocess.Popen | None = None) -> None:
    """SIGTERM the whole group, SIGKILL whatever is left after the grace period, reap the leader.

    Children that ignore SIGTERM, or that the leader's exit orphaned, are still in the group.
    """
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and group_alive(pgid):
        _reap(popen)
        time.sleep(0.05)
    while group_alive(pgid):
        _signal_group(pgid, signal.SIGKILL)
        _reap(popen)
        time.sleep(0.05)
    _reap(popen)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _reap(popen: subprocess.Popen | None) -> None:
    if popen is not None:
        popen.poll()


def exit_status(returncode: int) -> tuple[int | None, int | None]:
    """(exit code, signal number): a negative return code means the leader died of a signal."""
    if returncode < 0:
        return None, -returncode
    return returncode, None


def attempt_marker_of(pid: int) -> str | None:
    """The attempt id in the process's environment; None if it has none or may not be read."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    for entry in environ.split(b"\0"):
        name, _, value = entry.partition(b"=")
        if name == ATTEMPT_MARKER.encode():
            return value.decode()
    return None
