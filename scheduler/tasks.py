"""Celery tasks of the scheduler: thin wrappers over services (the database records what happened)."""
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings

from scheduler.execution.reaper import attempts_reap, lost_attempts_requeue
from scheduler.execution.runner import attempt_run
from scheduler.services.scheduling import attempts_reenqueue_unclaimed, scheduling_pass
from scheduler.services.telemetry import rollups_update, telemetry_prune


@shared_task(name="scheduler.telemetry_rollup")
def telemetry_rollup() -> dict:
    return rollups_update()


@shared_task(name="scheduler.telemetry_prune")
def telemetry_retention() -> dict:
    return telemetry_prune()


@shared_task(name="jobs.run_attempt", acks_late=True, reject_on_worker_lost=True)
def run_attempt(*, attempt_id: int) -> None:
    attempt_run(attempt_id=attempt_id)


@shared_task(name="jobs.scheduling_pass")
def run_scheduling_pass(*, requested_at: str | None = None) -> None:
    scheduling_pass(requested_at=datetime.fromisoformat(requested_at) if requested_at else None)


@shared_task(name="jobs.reap")
def reap() -> None:
    """Lost attempts are requeued; queued ones nobody claimed are sent again (CONTRACT 6)."""
    attempts_reap(heartbeat_ttl=timedelta(seconds=settings.JOB_HEARTBEAT_TTL))
    lost_attempts_requeue(node_down_grace=timedelta(seconds=settings.JOB_NODE_DOWN_GRACE))
    attempts_reenqueue_unclaimed(claim_timeout=timedelta(seconds=settings.JOB_CLAIM_TIMEOUT))


@shared_task(name="bookings.flag_idle")
def flag_idle_bookings() -> dict:
    """Clear the flags of bookings busy again, then flag the ones idle now (one beat entry for both)."""
    from scheduler.services.idle_bookings import bookings_clear_idle, bookings_flag_idle

    return {"cleared": bookings_clear_idle(), "flagged": bookings_flag_idle()}
