"""Issue 25, multi-node jobs: an attempt whose GPUs span nodes has one part per node; it starts when
every part claimed its GPUs, and parts that claimed let go when the others did not within the claim
timeout (all or nothing)."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from scheduler.models import Attempt, AttemptPart, GpuOccupancy, Job, JobAllocation
from scheduler.services.jobs import (
    attempt_part_claim,
    attempt_place,
    attempts_release_unclaimed_parts,
    job_cancel,
)
from scheduler.services.scheduling import attempts_reenqueue_unclaimed
from tests.scheduler.factories import fleet
from tests.scheduler.services.test_scheduling_pass import only_this_tests_gpus, submit, up  # noqa: F401 (autouse fixture)

TIMEOUT = timedelta(seconds=60)


@pytest.fixture
def two_nodes(db):
    return up(fleet(nodes=2, per_node=2, prefix="mn"))


def placed(job, gpus, *, enqueued_ago=timedelta(0)):
    with transaction.atomic():
        attempt = attempt_place(job=job, gpus=gpus, now=timezone.now())
    Attempt.objects.filter(pk=attempt.pk).update(enqueued_at=timezone.now() - enqueued_ago)
    return attempt


def parts_of(attempt):
    return list(AttemptPart.objects.filter(attempt=attempt).order_by("rank"))


def test_an_attempt_across_two_nodes_has_one_part_per_node_rank_0_on_its_own_node(two_nodes, researcher):
    a0, _, b0, b1 = two_nodes
    attempt = placed(submit(researcher, gpus=2, multi_node=True), [b0, a0, b1])
    parts = parts_of(attempt)
    assert [(p.rank, p.node_id, p.state) for p in parts] == [(0, b0.node_id, "queued"), (1, a0.node_id, "queued")]
    assert attempt.node_id == b0.node_id


def test_an_attempt_on_one_node_has_no_parts(two_nodes, researcher):
    a0, a1, _, _ = two_nodes
    attempt = placed(submit(researcher, gpus=2), [a0, a1])
    assert parts_of(attempt) == []


def test_the_attempt_starts_only_when_its_last_part_claims(two_nodes, researcher):
    a0, _, b0, _ = two_nodes
    job = submit(researcher, gpus=2, multi_node=True)
    attempt = placed(job, [a0, b0])
    first, second = parts_of(attempt)
    assert attempt_part_claim(part_id=first.pk, host="host-a", worker="host-a:1:w", port=29_511)
    attempt.refresh_from_db()
    job.refresh_from_db()
    assert (attempt.state, job.state) == ("queued", "pending")
    assert attempt_part_claim(part_id=second.pk, host="host-b", worker="host-b:1:w")
    attempt.refresh_from_db()
    job.refresh_from_db()
    assert (attempt.state, job.state) == ("running", "running")
    assert (attempt.host, attempt.worker) == ("host-a", "host-a:1:w")
    assert [(p.state, p.host, p.port) for p in parts_of(attempt)] == [
        ("running", "host-a", 29_511),
        ("running", "host-b", None),
    ]


def test_a_second_delivery_of_a_part_claims_nothing(two_nodes, researcher):
    a0, _, b0, _ = two_nodes
    attempt = placed(submit(researcher, gpus=2, multi_node=True), [a0, b0])
    first, _ = parts_of(attempt)
    assert attempt_part_claim(part_id=first.pk, host="host-a", worker="host-a:1:w")
    assert not attempt_part_claim(part_id=first.pk, host="host-a", worker="host-a:2:w")
    assert AttemptPart.objects.get(pk=first.pk).worker == "host-a:1:w"


def test_parts_not_all_claimed_in_time_release_the_gpus_and_the_job_waits_again(two_nodes, researcher):
    a0, _, b0, _ = two_nodes
    job = submit(researcher, gpus=2, multi_node=True)
    attempt = placed(job, [a0, b0], enqueued_ago=TIMEOUT + timedelta(seconds=1))
    first, second = parts_of(attempt)
    assert attempt_part_claim(part_id=first.pk, host="host-a", worker="host-a:1:w")

    assert attempts_release_unclaimed_parts(claim_timeout=TIMEOUT) == [attempt.pk]

    attempt.refresh_from_db()
    job.refresh_from_db()
    assert attempt.state == "lost" and "mn-01" in attempt.reason and "60 s" in attempt.reason
    assert attempt.processes_gone_at is not None  # nothing of it ever started
    assert {p.state for p in parts_of(attempt)} == {"ended"}
    now = timezone.now()
    assert not JobAllocation.objects.filter(attempt=attempt, end__gt=now).exists()
    assert not GpuOccupancy.objects.filter(attempt=attempt, end__gt=now).exists()
    assert (job.state, job.pending_reason) == ("pending", "Requeued.")
    # The late part finds its attempt released: it starts nothing.
    assert not attempt_part_claim(part_id=second.pk, host="host-b", worker="host-b:1:w")
    assert Attempt.objects.get(pk=attempt.pk).state == "lost"


def test_nothing_is_released_before_the_timeout_or_once_every_part_claimed(two_nodes, researcher):
    a0, a1, b0, b1 = two_nodes
    waiting = placed(submit(researcher, gpus=2, multi_node=True), [a0, b0], enqueued_ago=TIMEOUT / 2)
    started = placed(submit(researcher, gpus=2, multi_node=True), [a1, b1], enqueued_ago=2 * TIMEOUT)
    for part in parts_of(started):
        assert attempt_part_claim(part_id=part.pk, host="h", worker=f"h:{part.rank}:w")
    assert attempts_release_unclaimed_parts(claim_timeout=TIMEOUT) == []
    assert Attempt.objects.get(pk=waiting.pk).state == "queued"
    assert Attempt.objects.get(pk=started.pk).state == "running"


def test_an_unclaimed_attempt_across_nodes_is_released_not_sent_again(two_nodes, researcher, monkeypatch):
    a0, _, b0, _ = two_nodes
    placed(submit(researcher, gpus=2, multi_node=True), [a0, b0], enqueued_ago=2 * TIMEOUT)
    sent = []
    monkeypatch.setattr("scheduler.services.scheduling.attempt_send", lambda **kw: sent.append(kw))
    assert attempts_reenqueue_unclaimed(claim_timeout=TIMEOUT) == []
    assert sent == []


def test_a_job_released_as_often_as_its_attempt_limit_fails(two_nodes, researcher):
    a0, _, b0, _ = two_nodes
    job = submit(researcher, gpus=2, multi_node=True)
    Job.objects.filter(pk=job.pk).update(max_attempts=2)
    for _ in range(2):
        placed(Job.objects.get(pk=job.pk), [a0, b0], enqueued_ago=2 * TIMEOUT)
        attempts_release_unclaimed_parts(claim_timeout=TIMEOUT)
    job.refresh_from_db()
    assert job.state == "failed" and "Lost 2 times" in job.state_reason


def test_a_job_cancelled_while_its_parts_wait_ends_cancelled_when_released(two_nodes, researcher):
    a0, _, b0, _ = two_nodes
    job = submit(researcher, gpus=2, multi_node=True)
    placed(job, [a0, b0], enqueued_ago=2 * TIMEOUT)
    job_cancel(job=job, by=researcher)
    attempts_release_unclaimed_parts(claim_timeout=TIMEOUT)
    job.refresh_from_db()
    assert job.state == "cancelled"
