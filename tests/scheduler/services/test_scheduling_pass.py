"""The live scheduler: database in, pure policy, decision applied in one transaction."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from scheduler.models import Attempt, GpuOccupancy, Job, JobAllocation
from scheduler.services.jobs import job_submit
from scheduler.services.scheduling import scheduling_pass
from tests.scheduler.factories import booking, fleet, hours_from_now


@pytest.fixture(autouse=True)
def only_this_tests_gpus(db):
    """A session stack's GPU agent may have written its simulated fleet into this database: take
    those GPUs out of these tests (rolled back afterwards)."""
    from scheduler.models import Gpu

    Gpu.objects.update(state="drained")


def up(gpus):
    for node in {g.node for g in gpus}:
        node.last_heartbeat = timezone.now()
        node.save(update_fields=["last_heartbeat"])
    return gpus


def submit(user, **fields):
    return job_submit(user=user, **({"command": "true", "gpus": 1, "time_limit": timedelta(hours=1)} | fields))


def test_a_pass_places_a_job_on_one_node_and_holds_its_gpus(db, researcher):
    gpus = up(fleet(nodes=2, per_node=4))
    job = submit(researcher, gpus=3)
    decision = scheduling_pass()
    assert list(decision.placements) == [job.pk]
    attempt = Attempt.objects.get(job=job)
    held = list(JobAllocation.objects.filter(attempt=attempt).values_list("gpu_id", flat=True))
    assert len(held) == 3 and len({g.node_id for g in gpus if g.pk in held}) == 1
    assert GpuOccupancy.objects.filter(kind="job", attempt=attempt).count() == 3
    assert attempt.state == "queued"


def test_nothing_is_placed_on_a_down_node_or_a_drained_gpu(db, researcher):
    gpus = fleet(nodes=1, per_node=2)  # never heartbeated: down
    job = submit(researcher)
    scheduling_pass()
    job.refresh_from_db()
    assert not Attempt.objects.exists()
    assert job.queue_position == 1 and job.pending_reason
    up(gpus)
    for gpu in gpus:
        gpu.state = "drained"
        gpu.save()
    scheduling_pass()
    assert not Attempt.objects.exists()


def test_a_job_in_a_booking_runs_only_on_the_bookings_gpus(db, researcher):
    gpus = up(fleet(nodes=1, per_node=4))
    mine = booking(user=researcher, gpus=gpus[2:4], start=timezone.now() + timedelta(seconds=1), end=hours_from_now(3))
    job = submit(researcher, gpus=2, booking_id=mine.pk)
    scheduling_pass(now=timezone.now() + timedelta(seconds=2))
    attempt = Attempt.objects.get(job=job)
    assert sorted(attempt.allocations.values_list("gpu_id", flat=True)) == sorted(g.pk for g in gpus[2:4])
    assert not GpuOccupancy.objects.filter(kind="job").exists()  # the booking already holds them


def test_another_teams_job_does_not_run_into_a_booking(db, researcher, outsider):
    gpus = up(fleet(nodes=1, per_node=2))
    booking(user=researcher, gpus=gpus, start=timezone.now() + timedelta(minutes=30), end=hours_from_now(3))
    job = submit(outsider, gpus=1, time_limit=timedelta(hours=1))
    scheduling_pass()
    assert not Attempt.objects.filter(job=job).exists()
    short = submit(outsider, gpus=1, time_limit=timedelta(minutes=20))
    scheduling_pass()
    assert Attempt.objects.filter(job=short).exists()  # ends before the booking starts


@pytest.mark.django_db(transaction=True)
def test_concurrent_passes_never_allocate_a_gpu_twice(researcher, team_a):
    from portal.teams.services import quota_update

    quota_update(team=team_a, max_concurrent_gpus=64)
    # A model of its own: a session stack's simulated GPUs may share this database.
    up(fleet(nodes=2, per_node=4, model="RACE-1"))
    for _ in range(12):
        submit(researcher, gpus=1, gpu_model="RACE-1")
    errors = []

    def run():
        try:
            scheduling_pass()
        except Exception as exc:  # a serialisation failure would be a bug here
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # Independent oracle: brute force over stored rows.
    rows = list(JobAllocation.objects.values_list("gpu_id", "start", "end"))
    for i, (gpu, start, end) in enumerate(rows):
        for other_gpu, other_start, other_end in rows[i + 1 :]:
            assert not (gpu == other_gpu and start < other_end and other_start < end)
    assert len(rows) == 8
    assert Job.objects.filter(attempts__isnull=False).distinct().count() == 8


def test_a_gpu_released_after_the_pass_read_its_clock_is_placed_from_its_release(db, researcher):
    """bench/jobs.py on PostgreSQL: a pass whose `now` predates an attempt's end (the attempt ended
    while the pass waited for the lock) placed the next job over the released window, and the
    exclusion constraint failed the whole pass. The oracle: the stored windows of the GPU."""
    from scheduler.models import AttemptState
    from scheduler.services.jobs import attempt_finish

    gpus = up(fleet(nodes=1, per_node=1, prefix="late"))
    first = submit(researcher)
    scheduling_pass()
    attempt = Attempt.objects.get(job=first)
    before_the_end = timezone.now()
    attempt_finish(attempt=attempt, state=AttemptState.SUCCEEDED, reason="done")  # releases at its own, later, instant
    second = submit(researcher)
    scheduling_pass(now=before_the_end)

    windows = sorted(JobAllocation.objects.filter(gpu=gpus[0]).values_list("start", "end"))
    assert len(windows) == 2 and Attempt.objects.filter(job=second).exists()
    assert windows[0][1] <= windows[1][0]  # half-open windows apart: [a, b) then [b, c)
    assert (
        list(GpuOccupancy.objects.filter(gpu=gpus[0]).order_by("start").values_list("start", flat=True))[1]
        == windows[1][0]
    )
