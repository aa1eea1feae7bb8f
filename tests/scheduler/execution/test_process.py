"""A job's process group ends completely, whatever its children do."""

import os
import pwd
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scheduler.execution.environment import job_environment, job_variable_errors
from scheduler.execution.process import (
    exit_status,
    group_alive,
    group_members,
    group_terminate,
    lifeline_guard,
    process_start,
)

STUBBORN = (
    "trap '' TERM; "  # this shell ignores SIGTERM
    "(trap '' TERM; sleep 300) & "  # a child that ignores it too
    "(sleep 300) & "  # a child that obeys
    "echo started; wait"
)


def wait_for_log(path, text, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {path}")


def start_in(folder: Path, command: str, **options):
    """`command` started as a job in `folder`, with only PATH in its environment and its output in `folder`/log."""
    env = {"PATH": os.environ["PATH"]}
    return process_start(command=command, cwd=str(folder), env=env, log_path=folder / "log", **options)


def test_terminating_kills_children_that_ignore_sigterm(tmp_path):
    job = start_in(tmp_path, STUBBORN)
    wait_for_log(job.log_path, "started")
    assert len(group_members(job.pgid)) >= 3
    started = time.monotonic()
    group_terminate(pgid=job.pgid, grace_seconds=0.5, popen=job.popen)
    assert not group_alive(job.pgid)
    assert group_members(job.pgid) == []
    assert time.monotonic() - started < 5


def test_an_obedient_group_ends_within_the_grace_period(tmp_path):
    job = start_in(tmp_path, "sleep 300")
    group_terminate(pgid=job.pgid, grace_seconds=10, popen=job.popen)
    assert job.popen.returncode == -15
    assert exit_status(job.popen.returncode) == (None, 15)


def test_output_goes_to_the_log_file(tmp_path):
    job = start_in(tmp_path, "echo out; echo err >&2; exit 3")
    assert job.popen.wait(10) == 3
    assert job.log_path.read_text() == "out\nerr\n"
    assert exit_status(3) == (3, None)


def test_the_environment_keeps_portal_secrets_out(tmp_path):
    base = {
        "PATH": "/usr/bin",
        "HOME": "/home/r",
        "DATABASE_URL": "postgres://secret",
        "SECRET_KEY": "k",
        "CUDA_HOME": "/cuda",
        "AWS_SECRET": "x",
    }
    env = job_environment(
        base=base,
        job_variables={"LR": "3e-4"},
        gpu_uuids=["GPU-a", "GPU-b"],
        output_dir="/out",
        inputs={"dataset": "ds-1@v2"},
    )
    assert "DATABASE_URL" not in env and "SECRET_KEY" not in env and "AWS_SECRET" not in env
    assert env["CUDA_VISIBLE_DEVICES"] == "GPU-a,GPU-b"
    assert env["CUDA_HOME"] == "/cuda"
    assert env["LR"] == "3e-4"
    assert env["ATELIER_INPUT_DATASET"] == "ds-1@v2"
    assert env["ATELIER_OUTPUT_DIR"] == "/out"


def test_job_variables_must_be_plain_and_not_reserved():
    errors = job_variable_errors({"GOOD_1": "x", "1BAD": "x", "LD_PRELOAD": "x", "ATELIER_OUTPUT_DIR": "x", "a-b": "x"})
    assert len(errors) == 4
    assert not job_variable_errors({"BATCH_SIZE": "32"})


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs a root worker (CI's containers run as root)")
def test_a_root_worker_runs_the_job_as_the_configured_user_with_no_root_group(tmp_path):
    tmp_path.chmod(0o777)  # the job's working directory must be usable by that user
    job = process_start(
        command="id -u; id -g; id -G; echo $HOME; touch made-by-job",
        cwd=str(tmp_path),
        env={"PATH": os.environ["PATH"], "HOME": "/root"},
        log_path=tmp_path / "log",
        user="nobody",
    )
    assert job.popen.wait(10) == 0
    nobody = pwd.getpwnam("nobody")
    assert job.log_path.read_text().split("\n")[:4] == [
        str(nobody.pw_uid),
        str(nobody.pw_gid),
        str(nobody.pw_gid),
        nobody.pw_dir,
    ]
    assert (tmp_path / "made-by-job").stat().st_uid == nobody.pw_uid


# -- the lifeline (docs/jobs.md, "When things fall over": a worker dies) ------------------------------

GRANDCHILDREN = "sh -c 'sleep 300 & sleep 300' & echo started; wait"
ROOT = Path(__file__).resolve().parents[3]


def sleeps_started(pgid, timeout=10.0):
    """The group's members once both grandchild sleeps run (a little after "started" is logged)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        members = group_members(pgid)
        if sum(Path(f"/proc/{pid}/comm").read_text().strip() == "sleep" for pid in members) >= 2:
            return members
        time.sleep(0.02)
    raise AssertionError(f"the grandchildren of group {pgid} never started")


def wait_until_gone(pgid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return group_members(pgid)


def test_a_job_whose_lifeline_is_cut_stops_its_whole_group_grandchildren_included(tmp_path):
    job = start_in(tmp_path, GRANDCHILDREN)
    members = sleeps_started(job.pgid)  # the job's shell, sh (unless it exec'd the last sleep), two sleeps, the guard
    assert [pid for pid in members if lifeline_guard(pid)] and not lifeline_guard(job.pid)

    job.lifeline_cut()  # what the kernel does when the worker dies

    assert wait_until_gone(job.pgid) == []
    assert job.popen.wait(5) == -15  # the job got SIGTERM first


def test_a_job_ignoring_sigterm_is_killed_once_the_grace_after_the_cut_is_over(tmp_path):
    job = start_in(tmp_path, STUBBORN, kill_grace_seconds=0.5)
    wait_for_log(job.log_path, "started")
    job.lifeline_cut()
    assert wait_until_gone(job.pgid) == []
    assert job.popen.wait(5) == -9


def test_a_worker_killed_by_sigkill_takes_its_jobs_down_with_it(tmp_path):
    """A real worker process, SIGKILLed: the kernel closes its write end; the job's leader, orphaned,
    is reaped by whoever adopts it, and the guard stops the group, grandchildren included."""
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys, time\n"
            "from pathlib import Path\n"
            "from scheduler.execution.process import process_start\n"
            f"job = process_start(command={GRANDCHILDREN!r}, cwd={str(tmp_path)!r}, env={{'PATH': os.environ['PATH']}},"
            f" log_path=Path({str(tmp_path / 'log')!r}), kill_grace_seconds=1)\n"
            "print(job.pgid, flush=True)\n"
            "time.sleep(300)\n",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
    )
    pgid = int(worker.stdout.readline())
    assert sleeps_started(pgid)

    worker.kill()
    worker.wait(5)

    assert wait_until_gone(pgid) == []


def test_the_lifeline_keeps_the_jobs_exit_status_and_stays_out_of_its_reach(tmp_path):
    env = {"PATH": os.environ["PATH"]}
    exits = process_start(command="exit 3", cwd=str(tmp_path), env=env, log_path=tmp_path / "exits")
    assert exits.popen.wait(10) == 3
    killed = process_start(command="kill -KILL $$", cwd=str(tmp_path), env=env, log_path=tmp_path / "killed")
    assert killed.popen.wait(10) == -9
    # The job's stdin is /dev/null and it holds no end of the lifeline: it cannot cut it, nor keep it alive.
    fds = process_start(
        command="ls -l /proc/$$/fd; cat; echo read-all", cwd=str(tmp_path), env=env, log_path=tmp_path / "fds"
    )
    assert fds.popen.wait(10) == 0
    listing = fds.log_path.read_text()
    assert "read-all" in listing and "pipe:" not in listing and "/dev/null" in listing
    for job in (exits, killed, fds):
        job.lifeline_cut()
        assert wait_until_gone(job.pgid) == []


def test_signals_a_job_sends_its_own_group_leave_the_lifeline_standing(tmp_path):
    job = start_in(tmp_path, "trap '' HUP USR1 USR2; kill -HUP 0; kill -USR1 0; kill -USR2 0; echo sent; sleep 300")
    wait_for_log(job.log_path, "sent")
    assert [pid for pid in group_members(job.pgid) if lifeline_guard(pid)]
    started = time.monotonic()
    group_terminate(pgid=job.pgid, grace_seconds=10, popen=job.popen)  # the guard dies at once on SIGTERM
    assert time.monotonic() - started < 5
    assert job.popen.returncode == -15
    job.lifeline_cut()
