"""The live scheduler: read the cluster from the database, run the pure policy, apply its decision.

One pass at a time cluster-wide: on PostgreSQL a transaction-level advisory lock; on SQLite the
IMMEDIATE transaction already serialises writers. Everything the pass writes (attempts, GPU holds,
queue positions) commits together; the runner tasks are enqueued after commit.
"""

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Prefetch
from django.utils import timezone

from portal.ops.models import Heartbeat
from portal.ops.services import heartbeat_record
from portal.teams.models import TeamQuota
from scheduler import policy
from scheduler.dispatch import attempt_part_send, attempt_send
from scheduler.models import (
    ATTEMPT_LIVE_STATES,
    Attempt,
    Booking,
    BookingState,
    Gpu,
    GpuState,
    Job,
    JobAllocation,
    JobState,
    Priority,
)
from scheduler.policy.ranking import fair_share_of, fair_shares
from scheduler.selectors.fair_share import usage_by_team_and_user
from scheduler.selectors.fleet import node_down_after
from scheduler.selectors.quotas import month_bounds, month_of, team_hours_in
from scheduler.services.fair_share import bookings_usage_fold
from scheduler.services.jobs import attempt_place, attempts_preempt

log = logging.getLogger(__name__)

PASS_LOCK_ID = 4_711_001  # any constant: names the advisory lock of the scheduling pass
TIERS = {
    Priority.LOW: policy.types.TIER_LOW,
    Priority.NORMAL: policy.types.TIER_NORMAL,
    Priority.HIGH: policy.types.TIER_HIGH,
}


PASS_MARK = "scheduler:pass"


def scheduling_pass(
    *, now: datetime | None = None, config: policy.PolicyConfig | None = None, requested_at: datetime | None = None
) -> policy.Decision | None:
    """One pass. A pass requested before the last pass started is skipped: that pass already saw
    everything the request was about (a burst of job ends asks for one pass each)."""
    placed: list[Attempt] = []
    with transaction.atomic():
        _lock_pass()
        now = now or timezone.now()  # after the lock: a pass that waited for another must not place in the past
        last = Heartbeat.objects.filter(name=PASS_MARK).values_list("last_seen", flat=True).first()
        if requested_at is not None and last is not None and requested_at < last:
            return None
        heartbeat_record(name=PASS_MARK)
        waiting = Job.objects.filter(state=JobState.PENDING, cancel_requested_at__isnull=True)
        pending = list(waiting.exclude(attempts__state__in=ATTEMPT_LIVE_STATES).order_by("submitted_at", "id"))
        gpus = list(Gpu.objects.select_related("node"))
        config = config or live_policy_config()
        state = _cluster_state(now=now, pending=pending, gpus=gpus, half_life_s=config.half_life_s)
        decision = policy.schedule(state, config)
        jobs = {job.pk: job for job in pending}
        gpu_by_id = {gpu.pk: gpu for gpu in gpus}
        attempts_preempt(job_ids=decision.preemptions, now=now)
        # The policy hands a victim's GPUs on at once; here they are still held until its runner
        # stops it, so a placement onto them waits for a later pass (the GPU invariant holds).
        held = _gpus_of_jobs(decision.preemptions)
        for job_id, gpu_ids in decision.placements.items():
            if held.isdisjoint(gpu_ids):
                placed.append(attempt_place(job=jobs[job_id], gpus=[gpu_by_id[g] for g in gpu_ids], now=now))
        _record_pending(decision=decision, jobs=jobs, fair_share=_fair_share_by_job(state, config))
        # Last, after the attempts' rows: the order in which attempt_finish takes its locks.
        bookings_usage_fold(now=now)
        transaction.on_commit(lambda: [attempt_enqueue(attempt_id=a.pk) for a in placed])
    return decision


def _gpus_of_jobs(job_ids) -> set[int]:
    if not job_ids:
        return set()
    live = JobAllocation.objects.filter(attempt__job_id__in=list(job_ids), attempt__state__in=ATTEMPT_LIVE_STATES)
    return set(live.values_list("gpu_id", flat=True))


def live_policy_config() -> policy.PolicyConfig:
    return policy.PolicyConfig(
        reserve_min_age_s=settings.SCHEDULER_RESERVE_MIN_AGE,
        w_size=settings.SCHEDULER_WEIGHT_SIZE_HOURS,
        w_fairshare=settings.SCHEDULER_WEIGHT_FAIRSHARE_HOURS,
        half_life_s=settings.SCHEDULER_HALF_LIFE,
        starvation_factor=settings.SCHEDULER_STARVATION_FACTOR,
        starvation_floor_s=settings.SCHEDULER_STARVATION_FLOOR,
    )


def _lock_pass() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PASS_LOCK_ID])


def _epoch(instant: datetime) -> float:
    return instant.timestamp()


def _cluster_state(*, now, pending, gpus, half_life_s: float) -> policy.ClusterState:
    up_since = now - node_down_after()
    usable = {
        gpu.pk: gpu.state == GpuState.AVAILABLE
        and not gpu.node.drained
        and gpu.node.last_heartbeat is not None
        and gpu.node.last_heartbeat >= up_since
        for gpu in gpus
    }
    running = _running_jobs()
    usage = _usage(now=now, half_life_s=half_life_s, pending=pending, running=running)
    return policy.ClusterState(
        now=_epoch(now),
        gpus=tuple(
            policy.Gpu(id=g.pk, node=g.node.name, model=g.model, memory_mb=g.memory_total_mb, usable=usable[g.pk])
            for g in gpus
        ),
        running=running,
        pending=tuple(_pending_job(job) for job in pending),
        bookings=_bookings(now),
        teams=_teams(now, usage, {job.team_id for job in pending}),
        users=tuple(
            policy.UserState(team=str(team), name=str(user), usage_gpu_seconds=used, usage_as_of=_epoch(now))
            for (team, user), used in sorted(usage.items())
        ),
    )


def _usage(*, now, half_life_s: float, pending, running) -> dict[tuple[int, int], float]:
    """Past usage per (team, user) decayed to now, with every user who has a job waiting or running
    (at 0 when it has none): a team's users are ordered among all of them (docs/scheduling.md)."""
    usage = usage_by_team_and_user(now=now, half_life_s=half_life_s)
    for job in pending:
        usage.setdefault((job.team_id, job.owner_id), 0.0)
    for job in running:
        usage.setdefault((int(job.team), int(job.user)), 0.0)
    return usage


def _running_jobs() -> tuple:
    attempts = (
        Attempt.objects.filter(state__in=ATTEMPT_LIVE_STATES)
        .select_related("job")
        .prefetch_related(Prefetch("allocations", queryset=JobAllocation.objects.order_by("gpu_id")))
    )
    running = []
    for attempt in attempts:
        allocations = list(attempt.allocations.all())
        if not allocations:
            continue
        job = attempt.job
        running.append(
            policy.RunningJob(
                id=job.pk,
                team=str(job.team_id),
                gpus=tuple(a.gpu_id for a in allocations),
                start=_epoch(allocations[0].start),
                end_by=_epoch(allocations[0].end),
                preemptible=job.preemptible,
                tier=TIERS[job.priority],
                booking_id=job.booking_id,
                user=str(job.owner_id),
            )
        )
    return tuple(running)


def _pending_job(job: Job) -> policy.PendingJob:
    return policy.PendingJob(
        id=job.pk,
        team=str(job.team_id),
        gpus=job.gpus,
        submit=_epoch(job.submitted_at),
        time_limit=float(job.time_limit_s),
        user=str(job.owner_id),
        tier=TIERS[job.priority],
        preemptible=job.preemptible,
        model=job.gpu_model or None,
        min_memory_mb=job.min_memory_mb,
        # Spread over nodes only when no one node fits: one part per node (docs/jobs.md).
        multi_node=job.multi_node,
        booking_id=job.booking_id,
    )


def _bookings(now) -> tuple:
    bookings = Booking.objects.filter(state=BookingState.ACTIVE, end__gt=now).prefetch_related("gpus")
    return tuple(
        policy.Booking(
            id=b.pk,
            team=str(b.team_id),
            gpus=tuple(sorted(g.pk for g in b.gpus.all())),
            start=_epoch(b.start),
            end=_epoch(b.end),
        )
        for b in bookings
    )


def _teams(now, usage: dict, waiting_team_ids: set) -> tuple:
    """Every team with usage or jobs: its usage is its users' sum. Limits apply where the team has a
    quota row and jobs waiting; a team without a row takes part with no limits."""
    used: dict[int, float] = {}
    for (team_id, _), seconds in sorted(usage.items()):
        used[team_id] = used.get(team_id, 0.0) + seconds
    quotas = {q.team_id: q for q in TeamQuota.objects.filter(team_id__in=waiting_team_ids)}
    lo, hi = month_bounds(month_of(now))
    teams = []
    for team_id in sorted(used):
        state = policy.TeamState(name=str(team_id), usage_gpu_seconds=used[team_id], usage_as_of=_epoch(now))
        quota = quotas.get(team_id)
        if quota is not None:
            hours = team_hours_in(team_id=team_id, lo=lo, hi=hi)
            state = replace(
                state,
                max_gpus=quota.max_concurrent_gpus,
                guaranteed_gpus=quota.guaranteed_gpus,
                gpu_hours_remaining=max(float(quota.gpu_hours_per_month) - hours, 0.0),
            )
        teams.append(state)
    return tuple(teams)


def _fair_share_by_job(state: policy.ClusterState, config: policy.PolicyConfig) -> dict:
    """Each waiting job's fair-share factor, as the pass ranked it (computed again: the decision
    carries only the order)."""
    factors, users = fair_shares(state, config)
    return {job.id: fair_share_of(job, factors, users) for job in state.pending}


def _record_pending(*, decision: policy.Decision, jobs: dict, fair_share: dict) -> None:
    """Store position, reason, estimate and fair-share factor of waiting jobs; only rows that changed
    are written (the factor to two places, as shown, so usage creeping up rewrites nothing)."""
    changed = []
    for status in decision.pending:
        job = jobs[status.job_id]
        estimate = (
            datetime.fromtimestamp(status.estimated_start, UTC).replace(microsecond=0)
            if status.estimated_start is not None
            else None
        )
        fields = (status.position, status.reason[:500], estimate, round(fair_share[status.job_id], 2))
        if fields != (job.queue_position, job.pending_reason, job.estimated_start, job.fair_share_factor):
            job.queue_position, job.pending_reason, job.estimated_start, job.fair_share_factor = fields
            changed.append(job)
    Job.objects.bulk_update(
        changed, ["queue_position", "pending_reason", "estimated_start", "fair_share_factor"], batch_size=500
    )


# --- handing attempts to node workers -----------------------------------------------------------


def attempt_enqueue(*, attempt_id: int) -> bool:
    """Send the runner task to the attempt's node queue and note when (the claim timeout counts from it).

    With the broker down this returns False and the attempt stays queued in the database: the
    reaper sends it again once the claim timeout has passed.
    """
    attempt = Attempt.objects.select_related("node").get(pk=attempt_id)
    parts = list(attempt.parts.select_related("node").order_by("rank"))
    if parts:
        return _parts_enqueue(attempt_id=attempt_id, parts=parts)
    try:
        attempt_send(attempt_id=attempt_id, node_name=attempt.node.name)
    except Exception:  # kombu raises several types for an unreachable broker
        log.warning("could not enqueue attempt %s; it will be sent again", attempt_id, exc_info=True)
        return False
    Attempt.objects.filter(pk=attempt_id).update(enqueued_at=timezone.now())
    return True


def _parts_enqueue(*, attempt_id: int, parts) -> bool:
    """One runner task per part, to its node's queue. The claim timeout counts from this try even
    when a send failed: parts that were sent may claim and hold GPUs, so the attempt is released
    (attempts_release_unclaimed_parts), never sent again."""
    Attempt.objects.filter(pk=attempt_id).update(enqueued_at=timezone.now())
    try:
        for part in parts:
            attempt_part_send(part_id=part.pk, node_name=part.node.name)
    except Exception:  # kombu raises several types for an unreachable broker
        log.warning("could not enqueue every part of attempt %s; it will be released", attempt_id, exc_info=True)
        return False
    return True


def attempts_reenqueue_unclaimed(*, claim_timeout: timedelta, now: datetime | None = None) -> list[int]:
    """Queued attempts nobody claimed in time (a lost message, a broker that was down) go out again.
    Not an attempt across nodes: its parts that claimed hold GPUs, and it is released instead
    (attempts_release_unclaimed_parts)."""
    now = now or timezone.now()
    queued = Attempt.objects.filter(state="queued", parts__isnull=True)
    stale = list(queued.filter(enqueued_at__lt=now - claim_timeout).values_list("pk", flat=True))
    # Never sent (the broker was down at placement): retried on every reaper run.
    stale += list(queued.filter(enqueued_at__isnull=True).values_list("pk", flat=True))
    for attempt_id in stale:
        attempt_enqueue(attempt_id=attempt_id)
    return stale
