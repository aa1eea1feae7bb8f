"""An ended attempt's peak GPU memory: its own processes' (NVML per-PID) when the agent saw them,
else the highest whole-GPU sample while it ran (MIG gives no per-process memory)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from scheduler.models import Attempt, AttemptState, GpuSample
from scheduler.services.jobs import attempt_finish
from tests.scheduler.factories import fleet, running_job


@pytest.fixture(autouse=True)
def only_this_tests_gpus(db):
    from scheduler.models import Gpu

    Gpu.objects.update(state="drained")  # a session stack's agent may have written its fleet here
    node = fleet(nodes=1, per_node=1, prefix="acct")[0].node
    node.last_heartbeat = timezone.now()
    node.save(update_fields=["last_heartbeat"])


def sample(attempt, memory_mb: int) -> None:
    GpuSample.objects.create(
        gpu=attempt.allocations.get().gpu, at=timezone.now() - timedelta(milliseconds=1), memory_used_mb=memory_mb
    )


def test_the_peak_is_the_attempts_own_processes_memory(researcher):
    _, attempt = running_job(researcher)
    sample(attempt, 70_000)  # the whole GPU, another tenant's leftovers included
    Attempt.objects.filter(pk=attempt.pk).update(process_memory_peak_mb=12_345)
    ended = attempt_finish(attempt=attempt, state=AttemptState.SUCCEEDED, exit_code=0)
    assert ended.peak_memory_mb == 12_345


def test_without_per_process_memory_the_peak_comes_from_the_gpu_samples(researcher):
    _, attempt = running_job(researcher)
    sample(attempt, 30_000)
    sample(attempt, 41_000)
    assert attempt_finish(attempt=attempt, state=AttemptState.SUCCEEDED, exit_code=0).peak_memory_mb == 41_000
