"""A job's process group ends completely, whatever its children do."""

import os
import pwd
import time

import pytest

from scheduler.execution.environment import job_environment, job_variable_errors
from scheduler.execution.process import exit_status, group_alive, group_members, group_terminate, process_start

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


def test_terminating_kills_children_that_ignore_sigterm(tmp_path):
    job = process_start(
        command=STUBBORN, cwd=str(tmp_path), env={"PATH": os.environ["PATH"]}, log_path=tmp_path / "log"
    )
    wait_for_log(job.log_path, "started")
    assert len(group_members(job.pgid)) >= 3
    started = time.monotonic()
    group_terminate(pgid=job.pgid, grace_seconds=0.5, popen=job.popen)
    assert not group_alive(job.pgid)
    assert group_members(job.pgid) == []
    assert time.monotonic() - started < 5


def test_an_obedient_group_ends_within_the_grace_period(tmp_path):
    job = process_start(
        command="sleep 300", cwd=str(tmp_path), env={"PATH": os.environ["PATH"]}, log_path=tmp_path / "log"
    )
    group_terminate(pgid=job.pgid, grace_seconds=10, popen=job.popen)
    assert job.popen.returncode == -15
    assert exit_status(job.popen.returncode) == (None, 15)


def test_output_goes_to_the_log_file(tmp_path):
    job = process_start(
        command="echo out; echo err >&2; exit 3",
        cwd=str(tmp_path),
        env={"PATH": os.environ["PATH"]},
        log_path=tmp_path / "log",
    )
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
