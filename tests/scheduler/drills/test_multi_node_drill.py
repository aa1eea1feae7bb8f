"""Issue 25's drill: two emulated nodes, each with its own worker and agent as on two hosts, run a job
across both; node B's worker and agent are SIGKILLed mid-job. B's part falls silent, the attempt is lost,
the part on A is stopped (no half-job holding GPUs), the job is requeued once; B comes back and kills
its leftover group before it runs anything, and the requeued attempt starts only after that."""

import time

import pytest
from django.utils import timezone

from scheduler.execution.process import group_members
from scheduler.models import Attempt, AttemptPart, Job, Node
from tests.scheduler.drills.conftest import A100_NODE, L40S_NODE
from tests.scheduler.jobs.test_job_execution import submit
from tests.stack import wait_for

pytestmark = pytest.mark.stack

COMMAND = 'echo "rank $NODE_RANK of $NNODES"; sleep 300'


def parts_running(job: Job, number: int) -> dict[str, AttemptPart]:
    """The attempt's parts by node name once every one runs its process group."""
    parts = AttemptPart.objects.filter(attempt__job=job, attempt__number=number).select_related("node")
    ready = [part for part in parts if part.state == "running" and part.pgid]
    return {part.node.name: part for part in ready} if len(ready) == 2 else {}


def test_node_b_killed_mid_job_stops_the_part_on_a_and_b_clears_its_leftovers_before_the_retry(drill, researcher):
    drill.stack.stop("agent")  # the stack's agent plays every simulated node: one agent per node instead
    drill.agent("agent-a", A100_NODE)
    drill.agent("agent-b", L40S_NODE)
    drill.node_worker("node-a", "--node", A100_NODE)  # with the default queue: the reaper and the passes
    drill.node_worker("node-b", "--node", L40S_NODE, "--no-default")
    job = submit(researcher, gpus=6, multi_node=True, command=COMMAND, time_limit="PT10M")
    first = wait_for(lambda: parts_running(job, 1), timeout=60, what="both parts running")
    on_a, on_b = first[A100_NODE], first[L40S_NODE]
    assert group_members(on_a.pgid) and group_members(on_b.pgid)

    drill.kill("node-b")
    drill.kill("agent-b")
    killed = time.monotonic()
    lost = wait_for(
        lambda: Attempt.objects.filter(job=job, number=1, state="lost").first(), timeout=90, what="attempt 1 lost"
    )
    wait_for(lambda: not group_members(on_a.pgid), timeout=30, what="the part on A stopped")
    part_a = AttemptPart.objects.get(pk=on_a.pk)
    assert part_a.state == "ended" and part_a.outcome != "succeeded", (part_a.outcome, part_a.reason)
    assert group_members(on_b.pgid), "B's group runs on: nothing on B is left to stop it"
    assert Node.objects.get(name=L40S_NODE).last_heartbeat < timezone.now() - timezone.timedelta(seconds=2)  # silent
    wait_for(lambda: Job.objects.get(pk=job.pk).state == "pending", timeout=60, what="the job requeued")
    lost_after = time.monotonic() - killed

    # Six GPUs need both nodes: nothing is placed while B is away.
    time.sleep(3)
    assert not Attempt.objects.filter(job=job, number=2).exists()

    drill.agent("agent-b", L40S_NODE)
    drill.node_worker("node-b", "--node", L40S_NODE, "--no-default")
    second = _retry_running_after_leftovers_gone(job, leftover_pgid=on_b.pgid)
    started = Attempt.objects.get(job=job, number=2).started_at
    assert started is not None and lost.ended_at <= started
    assert not group_members(on_b.pgid)
    assert set(second) == {A100_NODE, L40S_NODE}
    assert list(Attempt.objects.filter(job=job).order_by("number").values_list("state", flat=True)) == [
        "lost",
        "running",
    ]
    print(f"drill: attempt lost and the job requeued {lost_after:.1f} s after the kill")
    from tests.actors import api_client_for

    assert api_client_for(researcher).post(f"/api/v1/jobs/{job.pk}/cancel/").status_code in (200, 202)
    for part in second.values():
        wait_for(lambda part=part: not group_members(part.pgid), timeout=30, what="the retry stopped")


def _retry_running_after_leftovers_gone(job: Job, *, leftover_pgid: int, timeout: float = 90) -> dict:
    """Watch every 0.1 s until the retry's parts run, failing the moment one of them has a process group
    while B's leftover group of attempt 1 still lives (the job running twice at once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = AttemptPart.objects.filter(attempt__job=job, attempt__number=2, pgid__isnull=False).exists()
        assert not (started and group_members(leftover_pgid)), "the retry started beside B's leftover group"
        running = parts_running(job, 2)
        if running:
            return running
        time.sleep(0.1)
    raise AssertionError(f"the retry's parts not running in {timeout} s")
