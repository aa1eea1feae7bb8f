"""Disks (docs/jobs.md "Disks"): a node worker whose job data folder is a small filesystem the test
mounts (a 64 MiB tmpfs, reserve 16 MiB). A job that fills it is stopped as "disk full", its GPUs are
freed and it is not requeued; a job that prints far past the log cap keeps a capped log on disk and
in the database; a job placed while the disk is below the reserve fails at start; the API answers
throughout. A real filesystem, not RLIMIT_FSIZE, which fails a write by another path (SIGXFSZ)."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from scheduler.execution.disk import TRUNCATION_MARKER
from scheduler.models import Attempt, JobAllocation
from tests.actors import api_client_for
from tests.scheduler.drills.conftest import A100_NODE, model_of
from tests.scheduler.jobs.test_job_execution import final, submit

pytestmark = pytest.mark.stack

MIB = 1024 * 1024
LOG_CAP = 1 * MIB
# 1 MiB every 50 ms: the runner (polling every 0.1 s) sees the reserve crossed long before the disk is full.
FILL = 'for i in $(seq 200); do head -c 1048576 /dev/zero >> "$ATELIER_OUTPUT_DIR/fill"; sleep 0.05; done'
# 40 MiB to stdout, far past the 1 MiB cap, while the disk stays above the reserve.
SHOUT = "yes 0123456789abcdef | head -c 41943040"


@pytest.fixture
def small_disk():
    """Mounted under the run's var/, which the job's account may pass through (not under tmp_path:
    /tmp/pytest-of-root is closed to it, and its writes would fail for another reason)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root; docs/testing.md)")
    base = Path(tempfile.mkdtemp(dir=settings.VAR_DIR))
    base.chmod(0o711)
    mount_point = base / "jobs"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
        shutil.rmtree(base, ignore_errors=True)


def test_a_job_that_fills_the_disk_fails_as_disk_full_frees_its_gpus_and_is_not_requeued(drill, researcher, small_disk):
    drill.node_worker(
        "disk",
        "--node",
        A100_NODE,
        env={
            "ATELIER_JOB_DATA_ROOT": str(small_disk),
            "ATELIER_JOB_DISK_RESERVE": "16M",
            "ATELIER_JOB_LOG_CAP_BYTES": str(LOG_CAP),
        },
    )
    model = model_of(A100_NODE)

    shouting = final(submit(researcher, command=SHOUT, gpu_model=model), timeout=60)
    assert shouting.state == "succeeded", shouting.state_reason
    attempt = Attempt.objects.get(job=shouting)
    on_disk = (small_disk / f"job-{shouting.pk}" / "attempt-1" / "output.log").read_bytes()
    assert len(on_disk) == LOG_CAP + len(TRUNCATION_MARKER) and on_disk.endswith(TRUNCATION_MARKER)
    assert attempt.log_truncated and attempt.log_size == len(on_disk)
    tail = api_client_for(researcher).get(f"/api/v1/jobs/{shouting.pk}/log/?offset={LOG_CAP}").json()
    assert tail["data"] == TRUNCATION_MARKER.decode() and tail["truncated"] and tail["complete"]

    filling = final(submit(researcher, command=FILL, gpus=2, gpu_model=model), timeout=60)
    assert filling.state == "failed"
    assert "Disk full" in filling.state_reason and "ATELIER_JOB_DISK_RESERVE" in filling.state_reason
    [attempt] = Attempt.objects.filter(job=filling)  # not requeued
    assert attempt.state == "failed" and attempt.processes_gone_at is not None
    assert not JobAllocation.objects.filter(attempt=attempt, end__gt=timezone.now()).exists()

    # All four GPUs of the node: placed at once only because the failed job's two were freed.
    refused = final(submit(researcher, command="echo never", gpus=4, gpu_model=model), timeout=60)
    assert refused.state == "failed" and "Disk full" in refused.state_reason
    assert Attempt.objects.get(job=refused).allocations.count() == 4
    assert not (small_disk / f"job-{refused.pk}").exists()  # nothing started, nothing written

    response = api_client_for(researcher).get("/api/v1/jobs/")
    assert response.status_code == 200
