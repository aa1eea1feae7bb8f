"""scripts/job_account.sh, which `make run` and .ci/run call: a root worker gets its unprivileged job
account once, and nothing changes for a worker that is not root or names its own account."""

import os
import pwd
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "job_account.sh"
ACCOUNT = "atelier-test-job"  # the one account this test creates, and removes


def run_script(**env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "ATELIER_JOB_RUN_AS_USER"}
    return subprocess.run(
        [str(SCRIPT)],
        env=base | {"ATELIER_JOB_ACCOUNT_NAME": ACCOUNT} | env,
        capture_output=True,
        text=True,
        check=True,
    )


def account_exists() -> bool:
    try:
        pwd.getpwnam(ACCOUNT)
    except KeyError:
        return False
    return True


def as_job_account(*command) -> subprocess.CompletedProcess:
    return subprocess.run(["setpriv", "--reuid", ACCOUNT, "--regid", ACCOUNT, "--clear-groups", *command], cwd=ROOT)


@pytest.mark.skipif(os.geteuid() != 0, reason="creating an account needs root (CI runs as root)")
def test_a_root_worker_gets_an_unprivileged_job_account_able_to_run_the_venv_python():
    assert not account_exists(), f"{ACCOUNT} is left over from an earlier run: userdel {ACCOUNT}"
    granted = []
    try:
        assert run_script(ATELIER_JOB_RUN_AS_USER="someone-else").stdout == ""  # named by the operator
        assert not account_exists()
        out = run_script().stdout
        assert f"created the account {ACCOUNT}" in out
        granted = [line.rsplit(" ", 1)[1] for line in out.splitlines() if line.startswith(f"let {ACCOUNT} pass")]
        account = pwd.getpwnam(ACCOUNT)
        assert account.pw_uid not in (0, os.geteuid()) and account.pw_gid != 0
        assert account.pw_shell == "/usr/sbin/nologin" and not Path(account.pw_dir).exists()
        assert as_job_account(".venv/bin/python", "-c", "").returncode == 0
        assert as_job_account("cat", "manage.py").returncode == 0
        assert run_script().stdout == ""  # there already, and able: nothing to do
    finally:
        for folder in granted:
            subprocess.run(["setfacl", "-x", f"u:{ACCOUNT}", folder], check=True)
        subprocess.run(["userdel", ACCOUNT], capture_output=True)
    assert not account_exists()
