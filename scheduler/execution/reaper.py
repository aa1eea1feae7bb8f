"""The reaper (beat): attempts whose runner stopped heartbeating are lost; their job is requeued
once the node confirms their processes are gone, or the node has been down past a grace period."""
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from scheduler.models import Attempt, AttemptState, JobState
from scheduler.services.jobs import attempt_finish, job_requeue_after_loss

LOST_REASON = "no heartbeat for {seconds:.0f} s: the worker running it died or lost the database"


def attempts_reap(*, heartbeat_ttl: timedelta) -> list[int]:
    cutoff = timezone.now() - heartbeat_ttl
    lost = list(Attempt.objects.filter(state=AttemptState.RUNNING, heartbeat_at__lt=cutoff))
    for attempt in lost:
        attempt_finish(attempt=attempt, state=AttemptState.LOST, reason=LOST_REASON.format(seconds=heartbeat_ttl.total_seconds()))
    return [attempt.pk for attempt in lost]


def lost_attempts_requeue(*, node_down_grace: timedelta) -> list[int]:
    """Requeue the jobs of lost attempts whose processes are known gone, or whose node is long down."""
    node_long_down = Q(node__last_heartbeat__lt=timezone.now() - node_down_grace) | Q(node__last_heartbeat__isnull=True)
    ready = Attempt.objects.filter(state=AttemptState.LOST, job__state=JobState.RUNNING).filter(
        Q(processes_gone_at__isnull=False) | node_long_down
    )
    requeued = []
    for attempt in ready:
        job_requeue_after_loss(attempt=attempt)
        requeued.append(attempt.job_id)
    return requeued
