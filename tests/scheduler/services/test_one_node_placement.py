"""Issue 20 item 5: a job is started as one process on one node, so until multi-node jobs are
launched on every node the live pass never gives a job GPUs on two nodes (the other node's GPUs would
sit in its CUDA_VISIBLE_DEVICES, unusable)."""

from scheduler.models import Attempt, Gpu, JobAllocation
from scheduler.services.scheduling import scheduling_pass
from tests.scheduler.factories import fleet
from tests.scheduler.services.test_scheduling_pass import only_this_tests_gpus, submit, up  # noqa: F401 (autouse fixture)


def test_a_multi_node_job_waits_for_one_node_rather_than_spanning_two(db, researcher):
    gpus = up(fleet(nodes=2, per_node=2))
    Gpu.objects.filter(pk__in=[gpus[1].pk, gpus[3].pk]).update(state="drained")  # one usable GPU per node
    job = submit(researcher, gpus=2, multi_node=True)
    scheduling_pass()
    assert not Attempt.objects.filter(job=job).exists()
    Gpu.objects.filter(pk=gpus[1].pk).update(state="available")
    scheduling_pass()
    held = JobAllocation.objects.filter(attempt__job=job)
    assert sorted(held.values_list("gpu_id", flat=True)) == [gpus[0].pk, gpus[1].pk]
