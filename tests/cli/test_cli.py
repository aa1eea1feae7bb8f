"""The `atelier` CLI against a live server, through the REST API only."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from portal.accounts.services import api_token_create
from scheduler.durations import NOT_A_DURATION
from scheduler.models import Job
from tests.scheduler.jobs.test_job_execution import final, fleet, wait_for  # noqa: F401 (fleet is a fixture)

pytestmark = pytest.mark.stack
ATELIER = str(Path(sys.executable).parent / "atelier")
ROOT = Path(__file__).resolve().parents[2]


def cli_env(config_dir: Path) -> dict[str, str]:
    """The environment of a CLI run: its own config file, and this checkout's `cli` package first on the
    path (the installed `atelier` script is editable from whichever checkout installed it)."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return os.environ | {"ATELIER_CONFIG": str(config_dir / "config.json"), "PYTHONPATH": path}


@pytest.fixture
def cli(fleet, researcher, tmp_path):  # noqa: F811 (the fixture of that name)
    """The CLI logged in as the researcher, once the agent has (re)written the fleet a job needs."""
    live_stack = fleet
    _, token = api_token_create(user=researcher, name="cli", expires_in_days=1)
    env = cli_env(tmp_path)

    def run(*args, check=True):
        result = subprocess.run([ATELIER, *args], env=env, capture_output=True, text=True, timeout=60)
        if check:
            assert result.returncode == 0, result.stderr
        return result

    run("login", live_stack.url, "--token", token)
    return run


def test_login_checks_the_token_and_keeps_it_private(live_stack, researcher, tmp_path):
    env = cli_env(tmp_path)
    bad = subprocess.run(
        [ATELIER, "login", live_stack.url, "--token", "atl_wrong"], env=env, capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 1
    assert bad.stderr.strip() == "atelier: Invalid token. Run `atelier login URL` with a valid token."
    assert not (tmp_path / "config.json").exists()


def test_submit_then_follow_the_log_to_the_end(cli, researcher):
    submitted = cli("submit", "--gpus", "1", "--time", "9m30s", "--", "sh", "-c", "echo from-the-cli; echo line-two")
    job = Job.objects.get()
    assert job.time_limit_s == 570
    assert submitted.stdout.strip() == f"Job {job.pk} submitted (pending)."
    assert job.command == "sh -c 'echo from-the-cli; echo line-two'"
    wait_for(lambda: Job.objects.get().ended_at, timeout=30)
    assert cli("logs", "-f", str(job.pk)).stdout == "from-the-cli\nline-two\n"
    assert str(job.pk) in cli("jobs").stdout


def test_errors_are_one_line_with_a_non_zero_exit(cli):
    missing = cli("cancel", "999999", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "atelier: No such job."
    bad_time = cli("submit", "--time", "soon", "--", "true", check=False)  # read by the server, not here
    assert bad_time.returncode == 1
    assert bad_time.stderr.strip() == f"atelier: time_limit: {NOT_A_DURATION.format(text='soon')}"
    assert not Job.objects.exists()


def test_cancel_a_pending_job(cli, researcher):
    cli("submit", "--gpus", "64", "--time", "10m", "--", "true", check=False)  # refused: no node has 64
    result = cli("submit", "--gpus", "1", "--time", "10m", "--", "sleep", "300")
    job = Job.objects.get()
    wait_for(lambda: Job.objects.get().state == "running", timeout=30)
    assert cli("cancel", str(job.pk)).returncode == 0
    assert final(job).state == "cancelled"
    assert "submitted" in result.stdout
