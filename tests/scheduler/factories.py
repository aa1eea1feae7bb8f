"""Scheduler factories: nodes, GPUs, bookings. Tests make their own GPUs; the agent is not needed."""

from datetime import timedelta

import factory
from django.utils import timezone

from scheduler.models import Gpu, Node


class NodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Node
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"node-{n:02d}")
    hostname = factory.LazyAttribute(lambda node: f"{node.name}.cluster.test")
    backend = "simulated"
    simulated = True


class GpuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Gpu

    node = factory.SubFactory(NodeFactory)
    index = factory.Sequence(lambda n: n % 8)
    uuid = factory.Sequence(lambda n: f"GPU-test-{n:08d}")
    model = "A100-80GB"
    memory_total_mb = 81920


def fleet(
    *, nodes: int = 2, per_node: int = 8, model: str = "A100-80GB", memory_mb: int = 81920, prefix: str = "node"
) -> list[Gpu]:
    """`nodes` × `per_node` GPUs, in node then index order."""
    gpus = []
    for n in range(nodes):
        node = NodeFactory(name=f"{prefix}-{n:02d}")
        gpus += [GpuFactory(node=node, index=i, model=model, memory_total_mb=memory_mb) for i in range(per_node)]
    return gpus


def hours_from_now(hours: float, *, base=None):
    """A whole-minute instant `hours` ahead (tests compare exact windows)."""
    now = (base or timezone.now()).replace(second=0, microsecond=0)
    return now + timedelta(hours=hours)


def booking(*, user, gpus, start, end, team=None, note=""):
    from scheduler.selectors.placement import GpuRequest
    from scheduler.services.bookings import booking_create

    return booking_create(
        user=user, team=team, start=start, end=end, request=GpuRequest(gpu_ids=tuple(g.pk for g in gpus)), note=note
    )


def quota_set(team, **limits):
    from portal.teams.services import quota_update

    return quota_update(team=team, **limits)


def count_request(count: int, **constraints):
    from scheduler.selectors.placement import GpuRequest

    return GpuRequest(count=count, **constraints)


def ids_request(gpus):
    from scheduler.selectors.placement import GpuRequest

    return GpuRequest(gpu_ids=tuple(g.pk for g in gpus))


def running_job(user, *, command: str = "sleep 300", gpus: int = 1, host: str = "test-host", **fields):
    """A job placed by a real scheduling pass and claimed as a worker would, without a worker:
    (job, attempt), both fresh from the database. Its GPUs must be the only placeable ones."""
    from scheduler.models import Attempt, Job
    from scheduler.services.jobs import attempt_claim, job_submit
    from scheduler.services.scheduling import scheduling_pass

    job = job_submit(user=user, command=command, gpus=gpus, time_limit=timedelta(hours=1), **fields)
    assert job.pk in scheduling_pass().placements, "no placeable GPU for the job"
    attempt = Attempt.objects.get(job=job)
    assert attempt_claim(attempt_id=attempt.pk, host=host, worker=f"{host}:1:test")
    return Job.objects.get(pk=job.pk), Attempt.objects.get(pk=attempt.pk)


def attempt_row(user, team, *, node=None):
    """A job and its running attempt as plain rows, with no placement: what a job's occupancy row
    points at in tests that build the occupancy themselves."""
    from scheduler.models import Attempt, Job

    job = Job.objects.create(
        owner=user, team=team, name="train", command="true", working_dir="/tmp", gpus=1, time_limit_s=600
    )
    return Attempt.objects.create(job=job, number=1, node=node or NodeFactory(), state="running")
