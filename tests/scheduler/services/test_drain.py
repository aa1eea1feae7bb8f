"""Draining a GPU or node with running jobs: they end normally unless the admin chooses to stop them
(docs/decisions.md §9); stopping is the cancel path, with the drain as the reason."""

import pytest
from django.utils import timezone

from portal.notifications.models import Notification
from scheduler.execution.runner import attempt_stop_request
from scheduler.models import AttemptState, Job
from scheduler.services.drain import gpu_drain, node_drain
from scheduler.services.jobs import attempt_finish
from tests.scheduler.factories import fleet, running_job


@pytest.fixture(autouse=True)
def only_this_tests_gpus(db):
    """A session stack's agent may have written its fleet here: keep the scheduler off those GPUs."""
    from scheduler.models import Gpu

    Gpu.objects.update(state="drained")


@pytest.fixture
def gpus(db):
    gpus = fleet(nodes=1, per_node=2, prefix="drain")
    node = gpus[0].node
    node.last_heartbeat = timezone.now()
    node.save(update_fields=["last_heartbeat"])
    return gpus


def gpu_of(attempt):
    return attempt.allocations.get().gpu


def test_a_drain_lets_running_jobs_end_normally_by_default(gpus, admin, researcher):
    job, attempt = running_job(researcher)
    gpu_drain(gpu=gpu_of(attempt), by=admin, reason="PSU swap")
    job.refresh_from_db()
    assert (job.state, job.cancel_requested_at) == ("running", None)
    assert attempt_stop_request(attempt_id=attempt.pk, worker=attempt.worker) == ""


def test_a_drain_that_stops_running_jobs_cancels_them_with_the_drain_as_reason(gpus, admin, researcher):
    job, attempt = running_job(researcher)
    gpu_drain(gpu=gpu_of(attempt), by=admin, reason="PSU swap", stop_running_jobs=True)

    job.refresh_from_db()
    assert job.cancel_requested_at is not None and job.state == "running"  # the runner stops it
    reason = attempt_stop_request(attempt_id=attempt.pk, worker=attempt.worker)
    assert reason == "GPU drained by admin: PSU swap"

    # What the runner does next: the same path as any cancel.
    attempt_finish(attempt=attempt, state=AttemptState.CANCELLED, reason=reason)
    job.refresh_from_db()
    assert (job.state, job.state_reason) == ("cancelled", "GPU drained by admin: PSU swap")
    note = Notification.objects.get(user=researcher, kind=Notification.Kind.JOB_ENDED)
    assert note.body == "GPU drained by admin: PSU swap" and "cancelled" in note.title


def test_only_jobs_on_the_drained_gpu_are_stopped(gpus, admin, researcher):
    first, first_attempt = running_job(researcher)
    second, second_attempt = running_job(researcher)
    assert gpu_of(first_attempt) != gpu_of(second_attempt)
    gpu_drain(gpu=gpu_of(first_attempt), by=admin, reason="fan", stop_running_jobs=True)
    assert Job.objects.get(pk=first.pk).cancel_requested_at is not None
    assert Job.objects.get(pk=second.pk).cancel_requested_at is None


def test_a_node_drain_that_stops_running_jobs_stops_every_job_on_the_node(gpus, admin, researcher):
    jobs = [running_job(researcher)[0] for _ in range(2)]
    node_drain(node=gpus[0].node, by=admin, reason="kernel update", stop_running_jobs=True)
    reasons = set(Job.objects.filter(pk__in=[j.pk for j in jobs]).values_list("cancel_reason", flat=True))
    assert reasons == {"Node drained by admin: kernel update"}
