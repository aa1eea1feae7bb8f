"""A real job's `python` resolves inside its runtime environment: the runner puts the environment's
bin and extra PATH entries first (docs/jobs.md, "Runtime environments")."""

import shutil
import tempfile
from pathlib import Path

import pytest
from django.conf import settings

from scheduler.models import Attempt, RuntimeEnvironment
from scheduler.services import environments as env_services
from scheduler.services.environments import environment_save
from tests.scheduler.jobs.test_job_execution import final, fleet, log_text, submit  # noqa: F401 (fleet is a fixture)
from tests.scheduler.services.test_environments import python_prefix

pytestmark = pytest.mark.stack


def test_the_default_environment_is_the_shipped_python_with_torch(fleet, researcher):  # noqa: F811
    command = 'echo "which=$(which python)"; python -c "import sys, torch; print(\'prefix=\' + sys.prefix)"'
    job = final(submit(researcher, command=command), timeout=60)
    assert job.state == "succeeded", job.state_reason
    log = log_text(researcher, job)
    prefix = settings.JOB_DEFAULT_ENVIRONMENT_PREFIX
    assert f"which={prefix}/bin/python\n" in log and f"prefix={prefix}\n" in log


@pytest.fixture
def shared_folder():
    """A folder under the jobs' work root, which a job run as the unprivileged job account can reach
    (pytest's tmp_path under /tmp/pytest-of-root is the test's alone: mode 0700)."""
    folder = Path(tempfile.mkdtemp(dir=settings.JOB_WORKDIR_ROOT, prefix="env-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_named_environment_comes_first_on_path_with_its_extra_entries(fleet, researcher, shared_folder):  # noqa: F811
    tmp_path = shared_folder
    prefix = python_prefix(tmp_path)
    (prefix / "pyvenv.cfg").write_text("home = /usr/bin\n")  # a venv: VIRTUAL_ENV names it
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "hello-tool").write_text("#!/bin/sh\necho tool ran\n")
    (tools / "hello-tool").chmod(0o755)
    environment_save(environment=RuntimeEnvironment(name="fake", python_prefix=str(prefix), path_entries=f"{tools}\n"))
    command = 'which python; python; hello-tool; echo "venv=$VIRTUAL_ENV"; echo "path=$PATH"'
    job = final(submit(researcher, command=command, environment="fake"))
    assert job.state == "succeeded", job.state_reason
    log = log_text(researcher, job)
    assert f"{prefix}/bin/python\nfake python\ntool ran\nvenv={prefix}\n" in log
    assert f"path={prefix}/bin:{tools}:" in log


def test_an_environment_missing_on_the_node_fails_the_attempt_saying_so(fleet, researcher, tmp_path):  # noqa: F811
    gone = tmp_path / "removed-env"  # registered (validated elsewhere), then removed from the node
    RuntimeEnvironment.objects.create(name="removed", python_prefix=str(gone))
    job = final(submit(researcher, command="python -V", environment="removed"))
    attempt = Attempt.objects.get(job=job)
    assert job.state == "failed"
    assert attempt.reason == env_services.ENVIRONMENT_MISSING_ON_NODE.format(
        name="removed", prefix=gone, node=attempt.node.name
    )
