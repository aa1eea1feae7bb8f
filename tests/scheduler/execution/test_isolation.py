"""A job run as an unprivileged account reaches its own outputs and nothing else: not another job's
outputs, not the portal's secrets (docs/jobs.md "Who a job runs as")."""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.conf import settings

from scheduler.execution.isolation import job_account, job_folder_close, job_folder_open
from scheduler.execution.process import process_start

ROOT = Path(__file__).resolve().parents[3]
JOB_USER = "nobody"  # an unprivileged account every Linux has: the tests create none
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs a root worker (CI runs as root)")


@pytest.fixture
def data_root():
    """A job data root where the job's account can reach what the permissions allow: under the portal's
    var/ (a pytest tmp_path lies below /tmp/pytest-of-root, closed to others, and would prove nothing)."""
    base = Path(tempfile.mkdtemp(dir=settings.VAR_DIR))
    base.chmod(0o755)
    yield base / "jobs"
    shutil.rmtree(base)


def folders(data_root: Path, job_id: int) -> dict:
    job_dir = data_root / f"job-{job_id}"
    outputs = job_dir / "outputs"
    outputs.mkdir(parents=True)
    return {"data_root": data_root, "job_dir": job_dir, "attempt_dir": job_dir / "attempt-1", "outputs": outputs}


def run_as_job(command: str, *, outputs: Path, cwd: Path) -> tuple[int, str]:
    job = process_start(
        command=command,
        cwd=str(cwd),
        env={"PATH": os.environ["PATH"], "ATELIER_OUTPUT_DIR": str(outputs)},
        log_path=outputs.parent / "attempt-1" / "output.log",
        user=JOB_USER,
    )
    code = job.popen.wait(20)
    return code, job.log_path.read_text()


@as_root
def test_a_job_cannot_list_or_read_an_earlier_jobs_outputs_nor_the_secret_key(data_root):
    team_a = folders(data_root, 1)
    job_folder_open(**team_a, user=JOB_USER)
    code, _ = run_as_job(
        'echo secret-of-team-a > "$ATELIER_OUTPUT_DIR/result.txt"; mkdir "$ATELIER_OUTPUT_DIR/sub"; '
        'echo more-of-team-a > "$ATELIER_OUTPUT_DIR/sub/f.txt"',
        outputs=team_a["outputs"],
        cwd=ROOT,
    )
    assert code == 0
    job_folder_close(job_dir=team_a["job_dir"], outputs=team_a["outputs"])

    team_b = folders(data_root, 2)
    job_folder_open(**team_b, user=JOB_USER)
    key_file = settings.VAR_DIR / "secret_key"
    assert key_file.exists()
    probes = {
        "list-data-root": f"ls {data_root}",
        "list-a": f"ls {team_a['outputs']}",
        "read-a": f"cat {team_a['outputs'] / 'result.txt'}",
        "read-a-sub": f"cat {team_a['outputs'] / 'sub' / 'f.txt'}",
        "list-var": f"ls {settings.VAR_DIR}",
        "read-key": f"cat {key_file}",
        "read-database": f"cat {settings.VAR_DIR / 'atelier.sqlite3'}",
        "list-media": f"ls {settings.MEDIA_ROOT}",
    }
    script = "; ".join(f"{probe} >/dev/null 2>&1 && echo got-{name}" for name, probe in probes.items())
    code, log = run_as_job(
        f'{script}; echo mine > "$ATELIER_OUTPUT_DIR/own.txt" && cat "$ATELIER_OUTPUT_DIR/own.txt" && pwd',
        outputs=team_b["outputs"],
        cwd=ROOT,
    )
    assert "got-" not in log, log
    assert log.split() == ["mine", str(ROOT)]  # its own outputs and its working directory stay its own


@as_root
def test_closed_outputs_belong_to_the_portal_readable_by_its_group_only(data_root):
    job = folders(data_root, 1)
    job_folder_open(**job, user=JOB_USER)
    account = job_account(JOB_USER)
    assert job["outputs"].stat().st_uid == account.pw_uid
    assert stat.S_IMODE(job["data_root"].stat().st_mode) == 0o711
    assert stat.S_IMODE(job["job_dir"].stat().st_mode) == 0o711
    assert stat.S_IMODE(job["attempt_dir"].stat().st_mode) == 0o750
    code, _ = run_as_job(
        'umask 000; echo x > "$ATELIER_OUTPUT_DIR/open.txt"; mkdir "$ATELIER_OUTPUT_DIR/d"',
        outputs=job["outputs"],
        cwd=ROOT,
    )
    assert code == 0

    job_folder_close(job_dir=job["job_dir"], outputs=job["outputs"])
    assert stat.S_IMODE(job["job_dir"].stat().st_mode) == 0o750
    for path, mode in [(job["outputs"] / "open.txt", 0o660), (job["outputs"] / "d", 0o770)]:
        info = path.stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (os.geteuid(), os.getegid(), mode)


@as_root
def test_links_planted_in_the_outputs_are_never_followed(data_root):
    job = folders(data_root, 1)
    outside = data_root.parent / "portal-file"
    outside.write_text("the portal's")
    outside.chmod(0o644)
    (job["outputs"] / "symlink").symlink_to(outside)
    os.link(outside, job["outputs"] / "hardlink")

    job_folder_open(**job, user=JOB_USER)
    job_folder_close(job_dir=job["job_dir"], outputs=job["outputs"])
    job_folder_open(**job, user=JOB_USER)

    info = outside.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o644)
    assert os.lstat(job["outputs"] / "symlink").st_uid == job_account(JOB_USER).pw_uid


def test_a_missing_account_is_a_clear_error():
    with pytest.raises(OSError, match="no account 'atelier-no-such-account'"):
        job_account("atelier-no-such-account")


def test_a_root_worker_runs_jobs_as_the_job_account_once_it_exists(monkeypatch):
    import portal.settings as portal_settings

    def getpwnam(name):
        if name == "atelier-job" and accounts_exist:
            return None
        raise KeyError(name)

    monkeypatch.setattr(portal_settings.pwd, "getpwnam", getpwnam)
    monkeypatch.setattr(portal_settings.os, "geteuid", lambda: 0)
    accounts_exist = True
    assert portal_settings._default_job_account() == "atelier-job"
    accounts_exist = False
    assert portal_settings._default_job_account() == ""  # nothing to run as: the worker's own account
    monkeypatch.setattr(portal_settings.os, "geteuid", lambda: 1000)
    accounts_exist = True
    assert portal_settings._default_job_account() == ""  # not root: jobs run as the worker's account


def test_the_portals_state_on_disk_is_its_own(tmp_path):
    """A fresh var/: passable but not listable, the key, the database and media for the portal only."""
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY", "ATELIER_MEDIA_ROOT")}
    env |= {"ATELIER_VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "portal.settings"}
    subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, check=True, timeout=60)
    modes = {name: stat.S_IMODE((var / name).stat().st_mode) for name in ("", "secret_key", "atelier.sqlite3", "media")}
    assert modes == {"": 0o711, "secret_key": 0o600, "atelier.sqlite3": 0o600, "media": 0o700}
    assert len((var / "secret_key").read_text().strip()) > 40


@as_root
def test_a_job_that_cannot_start_leaves_no_folder_to_its_account(data_root, settings, researcher, team_a):
    from scheduler.execution.runner import _start, attempt_output_dir
    from tests.scheduler.factories import attempt_row

    settings.JOB_DATA_ROOT, settings.JOB_RUN_AS_USER = data_root, JOB_USER
    attempt = attempt_row(researcher, team_a)
    attempt.job.working_dir = str(data_root.parent / "gone")  # removed since the job was submitted
    with pytest.raises(OSError):
        _start(attempt, attempt.job)
    outputs = attempt_output_dir(attempt)
    assert outputs.stat().st_uid == os.geteuid()
    assert stat.S_IMODE(outputs.parent.stat().st_mode) == 0o750
