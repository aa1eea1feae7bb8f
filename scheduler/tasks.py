"""Celery tasks of the scheduler: thin wrappers over services (the database records what happened)."""

from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from scheduler.execution.parts import attempt_part_run
from scheduler.execution.reaper import attempts_reap, lost_attempts_requeue
from scheduler.execution.runner import attempt_run
from scheduler.services import scheduling, telemetry, usage_totals
from scheduler.services.jobs import attempts_release_unclaimed_parts


@shared_task(name="scheduler.telemetry_rollup")
def telemetry_rollup() -> dict:
    return telemetry.rollups_update()


@shared_task(name="scheduler.telemetry_prune")
def telemetry_prune() -> dict:
    return telemetry.telemetry_prune()


@shared_task(name="scheduler.usage_hours_roll")
def usage_hours_roll() -> int:
    return usage_totals.usage_hours_roll(now=timezone.now())


# Acknowledged when a worker starts it, not when it ends (acks_late off, unlike the other tasks):
# the attempt's fate is the database's from the claim on (runner heartbeat, reaper, the node's
# agent), so a broker that redelivers an unacknowledged task after its visibility timeout (Redis: 1 h)
# must not see a long job as unfinished work. A message lost before its claim is sent again from the
# database by the claim timeout; a duplicate, from any source, loses the claim and does nothing.
@shared_task(name="jobs.run_attempt", acks_late=False)
def run_attempt(*, attempt_id: int) -> None:
    attempt_run(attempt_id=attempt_id)


# As run_attempt: acknowledged when a worker starts it; the database decides what runs.
@shared_task(name="jobs.run_attempt_part", acks_late=False)
def run_attempt_part(*, part_id: int) -> None:
    attempt_part_run(part_id=part_id)


@shared_task(name="jobs.scheduling_pass")
def scheduling_pass(*, requested_at: str | None = None) -> None:
    scheduling.scheduling_pass(requested_at=datetime.fromisoformat(requested_at) if requested_at else None)


@shared_task(name="jobs.reap")
def reap() -> None:
    """Lost attempts are requeued; queued ones nobody claimed are sent again, or released when their
    parts across nodes did not all claim (docs/decisions.md §6, docs/jobs.md)."""
    # A pause of three reaper intervals (database, beat or workers away) restarts the watch.
    attempts_reap(
        heartbeat_ttl=timedelta(seconds=settings.JOB_HEARTBEAT_TTL), gap=timedelta(seconds=3 * settings.REAPER_INTERVAL)
    )
    lost_attempts_requeue(node_down_grace=timedelta(seconds=settings.JOB_NODE_DOWN_GRACE))
    claim_timeout = timedelta(seconds=settings.JOB_CLAIM_TIMEOUT)
    scheduling.attempts_reenqueue_unclaimed(claim_timeout=claim_timeout)
    attempts_release_unclaimed_parts(claim_timeout=claim_timeout)


@shared_task(name="bookings.flag_idle")
def flag_idle() -> dict:
    """Clear the flags of bookings busy again, then flag the ones idle now (one beat entry for both)."""
    from scheduler.services.idle_bookings import bookings_clear_idle, bookings_flag_idle

    return {"cleared": bookings_clear_idle(), "flagged": bookings_flag_idle()}
