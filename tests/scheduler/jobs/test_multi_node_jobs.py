"""Issue 25, multi-node jobs on the stack: a job spanning the simulated fleet's two nodes runs one part
per node (one worker serves both node queues, as two emulated nodes), each with its own GPUs and rank,
and the parts meet at rank 0's address and port: a torch.distributed all-reduce over gloo across the parts."""

import pytest

from scheduler.execution.process import group_members
from scheduler.models import Attempt, AttemptPart, JobAllocation
from scheduler.selectors.jobs import part_log_file
from tests.scheduler.jobs.test_job_execution import final, fleet, log_text, submit  # noqa: F401 (fleet: a fixture)

pytestmark = pytest.mark.stack

# torch.distributed over the gloo backend, as a CPU job would train: each part joins the process group at
# MASTER_ADDR:MASTER_PORT (init_method env://: RANK and WORLD_SIZE come from the part's environment too)
# and all-reduces rank + 1.
ALL_REDUCE = """
import os
import torch
import torch.distributed as dist
rank, nnodes = int(os.environ["NODE_RANK"]), int(os.environ["NNODES"])
print("rank=%d nnodes=%s world=%s local=%s devices=%s" % (rank, nnodes, os.environ["WORLD_SIZE"],
      os.environ["LOCAL_WORLD_SIZE"], os.environ["CUDA_VISIBLE_DEVICES"]), flush=True)
dist.init_process_group("gloo", init_method="env://")
value = torch.tensor([rank + 1.0])
dist.all_reduce(value)
print("sum=%d backend=%s" % (int(value.item()), dist.get_backend()), flush=True)
dist.destroy_process_group()
"""


@pytest.mark.usefixtures("fleet")
def test_a_job_spanning_two_nodes_runs_one_part_per_node_and_its_parts_meet(researcher):
    job = submit(researcher, gpus=6, multi_node=True, command='python -c "$ALL_REDUCE"', env={"ALL_REDUCE": ALL_REDUCE})
    job = final(job, timeout=60)
    assert job.state == "succeeded", job.state_reason
    tries = list(Attempt.objects.filter(job=job).values_list("state", "reason"))
    assert len(tries) == 1, (tries, log_text(researcher, job, attempt=1))
    attempt = Attempt.objects.get(job=job)
    parts = list(AttemptPart.objects.filter(attempt=attempt).select_related("node").order_by("rank"))
    assert [(p.rank, p.state, p.outcome, p.exit_code) for p in parts] == [
        (0, "ended", "succeeded", 0),
        (1, "ended", "succeeded", 0),
    ]
    logs = [log_text(researcher, job), part_log_file(attempt, 1).read_text()]
    for part, text in zip(parts, logs, strict=True):
        own = sorted(
            JobAllocation.objects.filter(attempt=attempt, gpu__node=part.node).values_list("gpu__uuid", flat=True)
        )
        line = next(line for line in text.splitlines() if line.startswith("rank="))
        fields = dict(field.split("=", 1) for field in line.split())
        assert (fields["rank"], fields["nnodes"], fields["world"]) == (str(part.rank), "2", "2")
        assert fields["local"] == str(len(own))
        assert sorted(fields["devices"].split(",")) == own
        assert "sum=3 backend=gloo" in text  # 1 + 2: each part reached the other
    assert sorted(len(JobAllocation.objects.filter(attempt=attempt, gpu__node=p.node)) for p in parts) == [2, 4]
    assert attempt.gpu_seconds > 0 and attempt.processes_gone_at is not None


@pytest.mark.usefixtures("fleet")
def test_one_part_failing_stops_the_other_and_the_job_fails_once(researcher):
    command = 'if [ "$NODE_RANK" = 1 ]; then exit 3; fi; echo waiting; sleep 300'
    job = final(submit(researcher, gpus=6, multi_node=True, command=command), timeout=60)
    assert job.state == "failed", job.state_reason
    attempt = Attempt.objects.get(job=job)
    assert (attempt.exit_code, attempt.reason) == (
        3,
        f"Part 1 on {attempt.parts.get(rank=1).node.name}: Exited with code 3.",
    )
    rank_0 = attempt.parts.get(rank=0)
    assert (rank_0.state, rank_0.outcome) == ("ended", "cancelled")
    assert rank_0.reason == "part 1 ended (failed: Exited with code 3.)"
    assert attempt.processes_gone_at is not None
    assert rank_0.pgid is not None and not group_members(rank_0.pgid)
