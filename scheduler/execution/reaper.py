"""The reaper (beat): attempts whose runner stopped heartbeating are lost; their job is requeued
once their processes are known gone, or once their runner has been silent past the node-down grace
on a node that is silent too.

Heartbeats are judged only after the reaper has watched them for a full TTL without a gap: after a
database outage (or beat, or every worker, away) no runner could heartbeat, and each needs a moment
to reach the database again; judging at once would call every running job lost.
"""

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from portal.ops.models import Heartbeat
from portal.ops.services import heartbeat_record
from scheduler.models import Attempt, AttemptState, JobState
from scheduler.services.jobs import attempt_finish, job_requeue_after_loss

LOST_REASON = "no heartbeat for {seconds:.0f} s: the worker running it died or lost the database"
REAPER_WATCH = "reaper"


def reaper_watching_since(*, now: datetime, gap: timedelta) -> datetime:
    """Since when reaper passes have followed each other with no pause longer than `gap`."""
    last_seen, detail = Heartbeat.objects.filter(name=REAPER_WATCH).values_list("last_seen", "detail").first() or (
        None,
        {},
    )
    since = now
    if last_seen is not None and now - last_seen <= gap and detail.get("since"):
        since = datetime.fromisoformat(detail["since"])
    heartbeat_record(name=REAPER_WATCH, detail={"since": since.isoformat()})
    return since


def attempts_reap(*, heartbeat_ttl: timedelta, gap: timedelta) -> list[int]:
    now = timezone.now()
    if now - reaper_watching_since(now=now, gap=gap) < heartbeat_ttl:
        return []  # not watched long enough since a pause: a silent runner may be reconnecting
    lost = list(Attempt.objects.filter(state=AttemptState.RUNNING, heartbeat_at__lt=now - heartbeat_ttl))
    for attempt in lost:
        attempt_finish(
            attempt=attempt, state=AttemptState.LOST, reason=LOST_REASON.format(seconds=heartbeat_ttl.total_seconds())
        )
    return [attempt.pk for attempt in lost]


def lost_attempts_requeue(*, node_down_grace: timedelta) -> list[int]:
    """Requeue the jobs of lost attempts whose processes are known gone; without that confirmation,
    only once the runner has been silent past the grace (it stops its own job after the outage grace,
    which is shorter by at least a TTL: settings) and its node is silent too, or it never recorded a
    process."""
    silent_since = timezone.now() - node_down_grace
    node_silent = Q(node__last_heartbeat__lt=silent_since) | Q(node__last_heartbeat__isnull=True) | Q(pgid__isnull=True)
    unconfirmed = Q(heartbeat_at__lt=silent_since) & node_silent
    ready = Attempt.objects.filter(state=AttemptState.LOST, job__state=JobState.RUNNING).filter(
        Q(processes_gone_at__isnull=False) | unconfirmed
    )
    requeued = []
    for attempt in ready:
        job_requeue_after_loss(attempt=attempt)
        requeued.append(attempt.job_id)
    return requeued
