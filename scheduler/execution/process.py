"""Running a job's command in its own process group, and making sure nothing of it survives.

Each group carries a lifeline (a dead man's switch): a pipe whose write end only the worker holds,
for as long as its runner supervises the job, and whose read end a tiny guard in the group waits on.
When the worker dies (SIGKILL, OOM) the kernel closes the write end; the guard reads end of file and
stops its own group (SIGTERM, SIGKILL after the kill grace), with no database, agent or sweep needed:
a job never runs on beside its retry on another node (docs/jobs.md, "When things fall over")."""

import io
import math
import os
import pwd
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

# Set in every job's environment: tells an attempt's processes apart from a recycled pid or group id.
ATTEMPT_MARKER = "ATELIER_ATTEMPT_ID"

# The guard's name ($0): what its command line says, so the simulated fleet leaves it out of a job's processes.
LIFELINE_GUARD = "atelier-lifeline"

# Run by /bin/sh (dash, POSIX) as `sh -c LEADER atelier-lifeline COMMAND GRACE_TICKS`, the lifeline's read
# end on stdin. The leader starts the guard in the background, closes its own copy of the read end and
# execs the job's shell: the leader's pid, the group id and the exit status stay the job's.
# The guard (a fork of the leader, so its command line keeps LIFELINE_GUARD) waits on the read end; the
# worker never writes, so `read` returns only at end of file: every write end closed. It then ignores
# SIGTERM itself, sends it to its group, waits for the leader to end (gone, or a zombie nobody reaps: its
# parent, the worker, is dead) in 0.1 s steps up to the kill grace, and SIGKILLs the group, itself included. Until then SIGTERM kills it at once: a runner's group_terminate
# of a finished job's leftovers is not slowed by it. Signals a job may send its own group (HUP, USR1,
# USR2, ALRM) do not cut the lifeline: the guard is forked ignoring them (the job, after `trap -`, not).
LIFELINE_LEADER = """exec 3<&0 </dev/null
trap '' HUP USR1 USR2 ALRM
(
  PATH=/usr/bin:/bin
  leader=$$
  read -r _ || true
  trap '' TERM
  kill -TERM 0
  tick=0
  while [ "$tick" -lt "$2" ] && read -r stat 2>/dev/null <"/proc/$leader/stat"; do
    state=${stat##*") "}
    [ "${state%% *}" = Z ] && break
    sleep 0.1
    tick=$((tick + 1))
  done
  kill -KILL 0
) <&3 3<&- &
exec 3<&-
trap - HUP USR1 USR2 ALRM
exec /bin/sh -c "$1"
"""


@dataclass
class JobProcess:
    popen: subprocess.Popen
    log_path: Path
    # The write end. Closed when the runner is done with the job, when this object is dropped (nobody
    # supervises the job any more), or by the kernel when the worker dies.
    lifeline: io.FileIO | None = None

    def lifeline_cut(self) -> None:
        """Let go of the job: its guard stops whatever is left of its group. Call once the runner has
        stopped the group (the guard then is gone too) or will not supervise it any more."""
        if self.lifeline is not None:
            self.lifeline.close()

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def pgid(self) -> int:
        return self.popen.pid  # start_new_session=True: the leader's pid is the group id


def process_start(
    *,
    command: str,
    cwd: str,
    env: dict,
    log_path: Path,
    user: str | None = None,
    kill_grace_seconds: float = 10.0,
) -> JobProcess:
    """Start `command` through /bin/sh in a new session (so a new process group), output to log_path,
    on a lifeline (see the module): the caller holds `lifeline` while it supervises the job and cuts it
    when done. `kill_grace_seconds`: how long the guard lets the job end on SIGTERM before SIGKILL.

    `user`: run as this account (docs/decisions.md §6: a root worker runs jobs unprivileged). Its own group
    and no supplementary groups, or the job would keep root's group (gid 0) and its file access. The guard
    runs as that account too: it signals only its own group."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    identity = {}
    if user:
        account = pwd.getpwnam(user)
        identity = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        env = {**env, "HOME": account.pw_dir, "USER": account.pw_name, "LOGNAME": account.pw_name}
    # Both ends close-on-exec (PEP 446): another job started meanwhile inherits neither; this one gets
    # the read end as its leader's stdin, the guard's once the leader hands the job /dev/null.
    guard_end, lifeline = os.pipe()
    grace_ticks = str(math.ceil(max(kill_grace_seconds, 0.0) * 10))
    try:
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(
                ["/bin/sh", "-c", LIFELINE_LEADER, LIFELINE_GUARD, command, grace_ticks],
                cwd=cwd,
                env=env,
                stdin=guard_end,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **identity,
            )
    except BaseException:
        os.close(lifeline)
        raise
    finally:
        os.close(guard_end)
    return JobProcess(popen=popen, log_path=log_path, lifeline=io.FileIO(lifeline, "wb"))


def lifeline_guard(pid: int) -> bool:
    """Whether `pid` is a job's lifeline guard (not a process the job started)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return argv[:2] == [b"/bin/sh", b"-c"] and argv[3:4] == [LIFELINE_GUARD.encode()]


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
    pause = 0.002  # doubling to 50 ms: a group that ends at once (a finished job's guard) is seen at once
    while time.monotonic() < deadline and group_alive(pgid):
        _reap(popen)
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
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
