"""Issue 20 item 5 and issue 25: a job not allowed to span nodes is placed on one node; a multi-node
job spans nodes only when no one node fits it, with one part per node."""

from scheduler.models import Attempt, AttemptPart, Gpu, JobAllocation
from scheduler.services.scheduling import scheduling_pass
from tests.scheduler.factories import fleet
from tests.scheduler.services.test_scheduling_pass import only_this_tests_gpus, submit, up  # noqa: F401 (autouse fixture)


def test_a_single_node_job_waits_for_one_node_rather_than_spanning_two(db, researcher):
    gpus = up(fleet(nodes=2, per_node=2))
    Gpu.objects.filter(pk__in=[gpus[1].pk, gpus[3].pk]).update(state="drained")  # one usable GPU per node
    job = submit(researcher, gpus=2)
    scheduling_pass()
    assert not Attempt.objects.filter(job=job).exists()
    Gpu.objects.filter(pk=gpus[1].pk).update(state="available")
    scheduling_pass()
    held = JobAllocation.objects.filter(attempt__job=job)
    assert sorted(held.values_list("gpu_id", flat=True)) == [gpus[0].pk, gpus[1].pk]
    assert not AttemptPart.objects.filter(attempt__job=job).exists()


def test_a_multi_node_job_spans_two_nodes_when_no_one_node_fits_it(db, researcher):
    gpus = up(fleet(nodes=2, per_node=2))
    Gpu.objects.filter(pk__in=[gpus[1].pk, gpus[3].pk]).update(state="drained")
    job = submit(researcher, gpus=2, multi_node=True)
    scheduling_pass()
    attempt = Attempt.objects.get(job=job)
    assert sorted(attempt.allocations.values_list("gpu_id", flat=True)) == [gpus[0].pk, gpus[2].pk]
    parts = attempt.parts.order_by("rank")
    assert sorted(parts.values_list("node_id", flat=True)) == sorted([gpus[0].node_id, gpus[2].node_id])
    assert parts.first().node_id == attempt.node_id


def test_a_multi_node_job_that_fits_one_node_runs_there_with_no_parts(db, researcher):
    up(fleet(nodes=2, per_node=2))
    job = submit(researcher, gpus=2, multi_node=True)
    scheduling_pass()
    attempt = Attempt.objects.get(job=job)
    assert attempt.allocations.values("gpu__node").distinct().count() == 1
    assert not attempt.parts.exists()
