"""Jobs: submit, cancel, and every state transition of a job and its attempts (docs/decisions.md §6).

Transitions happen here and nowhere else; each stamps its time and reason, publishes a realtime
event, and asks for a scheduling pass after commit (GPUs were freed or a job is waiting).
"""

import logging
from collections import Counter
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from portal.notifications.models import Notification
from portal.notifications.services import notification_send
from portal.realtime.services import event_publish
from portal.signals import send_after_commit
from portal.teams.models import Membership, TeamQuota
from scheduler.dispatch import scheduling_pass_send
from scheduler.execution.environment import job_variable_errors
from scheduler.models import (
    ATTEMPT_LIVE_STATES,
    JOB_FINAL_STATES,
    Attempt,
    AttemptPart,
    AttemptPartState,
    AttemptState,
    Booking,
    BookingState,
    Gpu,
    GpuOccupancy,
    GpuSample,
    Job,
    JobAllocation,
    JobState,
    Priority,
)
from scheduler.services.environments import environment_for_job
from scheduler.services.fair_share import attempt_usage_record
from scheduler.services.idle_bookings import booking_job_started
from scheduler.signals import job_ended

log = logging.getLogger(__name__)

COMMAND_REQUIRED = "Give the command to run, e.g. `python train.py --lr 3e-4`."
NOT_A_RESEARCHER = "You are not a researcher in any team: ask a team admin to add you."
TEAM_REQUIRED = "You are a researcher in several teams: say which team this job runs for."
NOT_IN_TEAM = "You are not a researcher in that team."
HIGH_NEEDS_ADMIN = "High priority needs a team admin."
GPUS_RANGE = "Ask for at least 1 GPU."
# A job not allowed to span nodes runs as one process group on one node (docs/jobs.md).
GPUS_MORE_THAN_A_NODE = (
    "No node has {gpus} GPUs{constraint}; the largest has {largest}. Ask for at most {largest}, "
    "or let the job span nodes (multi_node)."
)
GPUS_MORE_THAN_CLUSTER = "The cluster has {total} matching GPUs; this job asks for {gpus}."
TIME_LIMIT_RANGE = "The time limit must be between {minimum_s} s and the team's limit of {limit_h} h."
TIME_LIMIT_MINIMUM = "The time limit must be at least {minimum_s} s."
OVER_MONTHLY_QUOTA = "This job asks for {asked:.1f} GPU-hours (GPUs × time limit), more than the team's whole monthly quota of {quota} GPU-hours."
WORKDIR_OUTSIDE_ROOT = "The working directory must lie under {root}."
WORKDIR_MISSING = "The working directory {path} does not exist."
BOOKING_UNKNOWN = "No such booking of your team."
BOOKING_TOO_SHORT = "The booking ends before this job's time limit would: it must fit inside the booking."
BOOKING_TOO_SMALL = "The booking holds {held} GPUs; this job asks for {gpus}."
BOOKING_SPLIT_OVER_NODES = (
    "The booking holds at most {largest} GPUs on one node; this job asks for {gpus}: ask for at most "
    "{largest}, or let the job span nodes (multi_node)."
)
ALREADY_FINISHED = "The job has already ended ({state})."


# --- submit --------------------------------------------------------------------------------------


def job_submit(
    *,
    user,
    command: str,
    gpus: int,
    time_limit: timedelta,
    name: str = "",
    team_id: int | None = None,
    working_dir: str = "",
    env: dict | None = None,
    gpu_model: str = "",
    min_memory_mb: int = 0,
    multi_node: bool = False,
    priority: str = Priority.NORMAL,
    preemptible: bool = False,
    booking_id: int | None = None,
    labels: dict | None = None,
    inputs: dict | None = None,
    environment: str = "",
) -> Job:
    """Validate everything a person can get wrong, naming the field, then queue the job."""
    errors: dict[str, list[str]] = {}
    command = (command or "").strip()
    if not command:
        errors["command"] = [COMMAND_REQUIRED]
    team = _submit_team(user=user, team_id=team_id, errors=errors)
    if priority == Priority.HIGH and team and not _is_team_admin(user, team.id):
        errors["priority"] = [HIGH_NEEDS_ADMIN]
    workdir = _checked_working_dir(working_dir, errors)
    runtime = environment_for_job(environment, errors)
    if env_errors := job_variable_errors(env or {}):
        errors["env"] = env_errors
    _check_gpus(gpus=gpus, gpu_model=gpu_model, min_memory_mb=min_memory_mb, multi_node=multi_node, errors=errors)
    if team:
        _check_time_limit(team=team, gpus=gpus, time_limit=time_limit, errors=errors)
    booking = (
        _checked_booking(booking_id, team=team, gpus=gpus, multi_node=multi_node, time_limit=time_limit, errors=errors)
        if team
        else None
    )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        job = Job.objects.create(
            owner=user,
            team=team,
            name=name or command.split()[0][:200],
            command=command,
            working_dir=str(workdir),
            env=env or {},
            gpus=gpus,
            gpu_model=gpu_model,
            min_memory_mb=min_memory_mb,
            multi_node=multi_node,
            time_limit_s=int(time_limit.total_seconds()),
            priority=priority,
            preemptible=preemptible,
            booking=booking,
            labels=labels or {},
            inputs=inputs or {},
            environment=runtime,
            pending_reason="Waiting for the scheduler's next pass.",
        )
        _publish(job, "job.submitted")
        transaction.on_commit(_request_scheduling_pass)
    return job


def _submit_team(*, user, team_id, errors):
    memberships = Membership.objects.filter(user=user, is_researcher=True).select_related("team")
    if team_id is not None:
        membership = memberships.filter(team_id=team_id).first()
        if membership is None:
            errors["team"] = [NOT_IN_TEAM]
            return None
        return membership.team
    teams = [m.team for m in memberships]
    if not teams:
        errors["team"] = [NOT_A_RESEARCHER]
        return None
    if len(teams) > 1:
        errors["team"] = [TEAM_REQUIRED]
        return None
    return teams[0]


def _is_team_admin(user, team_id) -> bool:
    return Membership.objects.filter(user=user, team_id=team_id, is_team_admin=True).exists()


def _checked_working_dir(working_dir: str, errors) -> Path | None:
    root = Path(settings.JOB_WORKDIR_ROOT).resolve()
    raw = Path(working_dir or str(root))
    # Resolve before comparing, so `..` and symlinks cannot step outside the root.
    path = (raw if raw.is_absolute() else root / raw).resolve()
    if path != root and root not in path.parents:
        errors["working_dir"] = [WORKDIR_OUTSIDE_ROOT.format(root=root)]
        return None
    if not path.is_dir():
        errors["working_dir"] = [WORKDIR_MISSING.format(path=path)]
        return None
    return path


def _check_gpus(*, gpus, gpu_model, min_memory_mb, multi_node, errors) -> None:
    if gpus < 1:
        errors["gpus"] = [GPUS_RANGE]
        return
    matching = Gpu.objects.exclude(state="lost").filter(memory_total_mb__gte=min_memory_mb)
    if gpu_model:
        matching = matching.filter(model=gpu_model)
    per_node = {}
    for node_id in matching.values_list("node_id", flat=True):
        per_node[node_id] = per_node.get(node_id, 0) + 1
    total, largest = sum(per_node.values()), max(per_node.values(), default=0)
    constraint = f" of model {gpu_model}" if gpu_model else ""
    if total < gpus:
        errors["gpus"] = [GPUS_MORE_THAN_CLUSTER.format(total=total, gpus=gpus)]
    elif largest < gpus and not multi_node:
        errors["gpus"] = [GPUS_MORE_THAN_A_NODE.format(gpus=gpus, constraint=constraint, largest=largest)]


def _check_time_limit(*, team, gpus, time_limit, errors) -> None:
    minimum_s = settings.JOB_MIN_TIME_LIMIT
    quota = TeamQuota.objects.filter(team=team).first()
    if quota is None:  # a team without a quota row has no limits (docs/scheduling.md)
        if time_limit < timedelta(seconds=minimum_s):
            errors["time_limit"] = [TIME_LIMIT_MINIMUM.format(minimum_s=minimum_s)]
        return
    limit_h = quota.max_booking_hours
    if not timedelta(seconds=minimum_s) <= time_limit <= timedelta(hours=limit_h):
        errors["time_limit"] = [TIME_LIMIT_RANGE.format(minimum_s=minimum_s, limit_h=limit_h)]
        return
    asked = gpus * time_limit.total_seconds() / 3600
    if asked > float(quota.gpu_hours_per_month):
        errors["time_limit"] = [OVER_MONTHLY_QUOTA.format(asked=asked, quota=quota.gpu_hours_per_month)]


def _checked_booking(booking_id, *, team, gpus, multi_node, time_limit, errors):
    if booking_id is None:
        return None
    booking = Booking.objects.filter(pk=booking_id, team=team, state=BookingState.ACTIVE).first()
    if booking is None or booking.end <= timezone.now():
        errors["booking"] = [BOOKING_UNKNOWN]
        return None
    held = booking.gpus.count()
    on_one_node = max(Counter(booking.gpus.values_list("node_id", flat=True)).values(), default=0)
    if held < gpus:
        errors["booking"] = [BOOKING_TOO_SMALL.format(held=held, gpus=gpus)]
    elif on_one_node < gpus and not multi_node:
        errors["booking"] = [BOOKING_SPLIT_OVER_NODES.format(largest=on_one_node, gpus=gpus)]
    elif max(booking.start, timezone.now()) + time_limit > booking.end:
        errors["booking"] = [BOOKING_TOO_SHORT]
    return booking


# --- cancel --------------------------------------------------------------------------------------


@transaction.atomic
def job_cancel(*, job: Job, by, reason: str = "") -> Job:
    """A pending job ends now; a running one is flagged, and its runner stops it within a second.

    `reason` replaces the plain "Cancelled." when the cancel is not simply a person's choice (a drain
    stops the jobs on its GPUs): it becomes the attempt's and the job's final reason.
    """
    job = Job.objects.select_for_update().get(pk=job.pk)
    if job.state in JOB_FINAL_STATES:
        raise ValidationError({"state": [ALREADY_FINISHED.format(state=job.state)]})
    job.cancel_requested_at = job.cancel_requested_at or timezone.now()
    job.cancel_reason = job.cancel_reason or reason[:500]
    if not job.attempts.filter(state__in=ATTEMPT_LIVE_STATES).exists():
        _job_end(job, JobState.CANCELLED, reason or f"Cancelled by {by.username} before it started.")
    else:
        job.state_reason = reason[:500] or f"Cancel requested by {by.username}."
        job.save(update_fields=["cancel_requested_at", "cancel_reason", "state_reason"])
        _publish(job, "job.cancel_requested")
    return job


# --- attempts ------------------------------------------------------------------------------------


def attempt_place(*, job: Job, gpus: list[Gpu], now) -> Attempt:
    """Write an attempt and its GPU holds (called inside the scheduling pass's transaction)."""
    number = (job.attempts.aggregate(n=Max("number"))["n"] or 0) + 1
    attempt = Attempt.objects.create(job=job, number=number, node=gpus[0].node, state=AttemptState.QUEUED)
    now = _after_last_release(gpus=gpus, now=now)
    end = now + timedelta(seconds=job.time_limit_s)
    JobAllocation.objects.bulk_create([JobAllocation(attempt=attempt, gpu=gpu, start=now, end=end) for gpu in gpus])
    _parts_place(attempt=attempt, gpus=gpus)
    if job.booking_id is None:
        # Outside a booking the job holds its GPUs in the shared occupancy table (docs/decisions.md §4).
        GpuOccupancy.objects.bulk_create(
            [
                GpuOccupancy(
                    gpu=gpu,
                    team_id=job.team_id,
                    user_id=job.owner_id,
                    kind="job",
                    start=now,
                    end=end,
                    attempt=attempt,
                )
                for gpu in gpus
            ]
        )
    job.pending_reason, job.queue_position, job.fair_share_factor = "", None, None
    job.save(update_fields=["pending_reason", "queue_position", "fair_share_factor"])
    return attempt


def _after_last_release(*, gpus: list[Gpu], now):
    """The pass's clock was read before it saw the cluster: an attempt that ended in between released
    its GPUs at its own, later, instant. Start there, so the windows stay apart ([a, b) + [b, c))
    and PostgreSQL's no-overlap constraint never fails the whole pass."""
    released = (
        JobAllocation.objects.filter(gpu__in=gpus, end__gt=now, start__lte=now)
        .exclude(attempt__state__in=ATTEMPT_LIVE_STATES)
        .aggregate(last=Max("end"))["last"]
    )
    return max(now, released) if released else now


def attempts_preempt(*, job_ids, now) -> int:
    """Ask the runners of these jobs' live attempts to stop; their jobs go back to the queue."""
    return Attempt.objects.filter(
        job_id__in=list(job_ids), state__in=ATTEMPT_LIVE_STATES, preempt_requested_at__isnull=True
    ).update(preempt_requested_at=now)


def attempt_claim(*, attempt_id: int, host: str, worker: str) -> bool:
    """Compare-and-set: exactly one delivery of the task gets to run the attempt, and the attempt
    records which worker process runs it."""
    now = timezone.now()
    claimed = Attempt.objects.filter(pk=attempt_id, state=AttemptState.QUEUED).update(
        state=AttemptState.RUNNING, host=host, worker=worker, started_at=now, heartbeat_at=now
    )
    if claimed:
        _job_started(attempt_id=attempt_id, now=now)
    return bool(claimed)


def _job_started(*, attempt_id: int, now) -> None:
    job = Job.objects.get(attempts__pk=attempt_id)
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, started_at=job.started_at or now)
    _publish(Job.objects.get(pk=job.pk), "job.started")
    if job.booking_id is not None:
        booking_job_started(booking_id=job.booking_id, at=now)


# --- parts of an attempt across nodes (docs/jobs.md, "Jobs across nodes") -------------------------

UNCLAIMED_PARTS = "the part(s) on {nodes} did not claim their GPUs within {seconds:.0f} s"


def _parts_place(*, attempt: Attempt, gpus: list[Gpu]) -> None:
    """One part per node when the GPUs span nodes, ranked in the order the placement lists them
    (rank 0 on the attempt's own node); none on one node, where the attempt is its only part."""
    nodes = list(dict.fromkeys(gpu.node for gpu in gpus))
    if len(nodes) > 1:
        AttemptPart.objects.bulk_create(
            [AttemptPart(attempt=attempt, rank=rank, node=node) for rank, node in enumerate(nodes)]
        )


@transaction.atomic
def attempt_part_claim(*, part_id: int, host: str, worker: str, port: int | None = None) -> bool:
    """Compare-and-set, as attempt_claim, for one node's part: the worker holds that node's GPUs and
    waits. The claim that completes the set starts the attempt (queued → running, every part
    running). `port`: the free port rank 0's worker chose on its host, the attempt's MASTER_PORT.

    False when the part was claimed already (a second delivery) or its attempt is no longer queued
    (its claim timeout released it): the worker then starts nothing."""
    row = AttemptPart.objects.filter(pk=part_id).values_list("attempt_id", "rank").first()
    if row is None:
        return False
    attempt_id, rank = row
    if (rank == 0) != (port is not None):
        raise ValueError("rank 0's worker claims with the attempt's port, and only it")
    # The attempt's row lock orders this claim against the other parts' and the timeout's release.
    attempt = Attempt.objects.select_for_update().get(pk=attempt_id)
    if attempt.state != AttemptState.QUEUED:
        return False
    now = timezone.now()
    claimed = AttemptPart.objects.filter(pk=part_id, state=AttemptPartState.QUEUED).update(
        state=AttemptPartState.CLAIMED, host=host, worker=worker, claimed_at=now, heartbeat_at=now, port=port
    )
    if not claimed:
        return False
    parts = attempt.parts.order_by("rank")
    if not parts.exclude(state=AttemptPartState.CLAIMED).exists():
        first = parts.first()
        parts.update(state=AttemptPartState.RUNNING, heartbeat_at=now)
        Attempt.objects.filter(pk=attempt_id).update(
            state=AttemptState.RUNNING, host=first.host, worker=first.worker, started_at=now, heartbeat_at=now
        )
        _job_started(attempt_id=attempt_id, now=now)
    return True


def attempt_part_heartbeat(*, part_id: int, worker: str) -> bool:
    """The part's runner is alive. The attempt's heartbeat is its stalest running part's, so the
    reaper judges an attempt across nodes as it judges any (a silent node's part makes it lost).
    False when the part is no longer running under this worker, or its attempt no longer runs."""
    now = timezone.now()
    beat = AttemptPart.objects.filter(
        pk=part_id, state=AttemptPartState.RUNNING, worker=worker, attempt__state=AttemptState.RUNNING
    ).update(heartbeat_at=now)
    if beat:
        attempt_id = AttemptPart.objects.filter(pk=part_id).values_list("attempt_id", flat=True)
        stalest = Min("parts__heartbeat_at", filter=Q(parts__state=AttemptPartState.RUNNING))
        stalest_at = Attempt.objects.filter(pk__in=attempt_id).aggregate(at=stalest)["at"]
        Attempt.objects.filter(pk__in=attempt_id, state=AttemptState.RUNNING).update(heartbeat_at=stalest_at or now)
    return bool(beat)


def attempt_part_stop_request(*, part_id: int, worker: str) -> str | None:
    """Why the part's runner should stop its group now: a cancel, a preemption, another part that
    ended without succeeding, or its attempt ended (lost, say); "" to go on; None when the part is
    no longer running under this worker (a second runner, a deleted job): stop, record nothing."""
    part = AttemptPart.objects.filter(pk=part_id).select_related("attempt__job").first()
    if part is None or part.state != AttemptPartState.RUNNING or part.worker != worker:
        return None
    attempt, job = part.attempt, part.attempt.job
    if job.cancel_requested_at:
        return job.cancel_reason or "Cancelled."
    if attempt.preempt_requested_at:
        return "preempted to return GPUs to a team's guaranteed share"
    if attempt.state != AttemptState.RUNNING:
        return f"its attempt ended ({attempt.state}: {attempt.reason})"
    failed = attempt.parts.filter(state=AttemptPartState.ENDED).exclude(outcome=AttemptState.SUCCEEDED).first()
    return f"part {failed.rank} ended ({failed.outcome}: {failed.reason})" if failed else ""


@transaction.atomic
def attempt_part_end(
    *, part_id: int, worker: str, state: str, reason: str = "", exit_code=None, signal_number=None
) -> None:
    """A part's process group ended and nothing of it runs any more. The attempt ends when its last
    part ends: succeeded when every part did, otherwise with the first outcome that was not a success
    (the other parts were stopped because of it). One attempt end, one accounting, GPUs released only
    once no part runs. A part not running under this worker records nothing."""
    attempt_id = AttemptPart.objects.filter(pk=part_id).values_list("attempt_id", flat=True).first()
    if attempt_id is None:
        return
    attempt = Attempt.objects.select_for_update().get(pk=attempt_id)  # orders the parts' ends
    now = timezone.now()
    ended = AttemptPart.objects.filter(pk=part_id, state=AttemptPartState.RUNNING, worker=worker).update(
        state=AttemptPartState.ENDED,
        ended_at=now,
        outcome=state,
        reason=reason[:500],
        exit_code=exit_code,
        signal=signal_number,
    )
    parts = attempt.parts.order_by("ended_at", "rank")
    if not ended or parts.exclude(state=AttemptPartState.ENDED).exists():
        return
    Attempt.objects.filter(pk=attempt_id, processes_gone_at__isnull=True).update(processes_gone_at=now)
    if attempt.state != AttemptState.RUNNING:
        return  # ended already (lost: the reaper; the requeue waited for these processes to be gone)
    first_failure = parts.exclude(outcome=AttemptState.SUCCEEDED).select_related("node").first()
    runtime = (now - attempt.started_at).total_seconds() if attempt.started_at else 0.0
    gpus = JobAllocation.objects.filter(attempt_id=attempt_id).count()
    if first_failure is None:
        attempt_finish(
            attempt=attempt,
            state=AttemptState.SUCCEEDED,
            reason="Every part exited with code 0.",
            exit_code=0,
            gpu_seconds=runtime * gpus,
        )
        return
    attempt_finish(
        attempt=attempt,
        state=first_failure.outcome,
        reason=f"Part {first_failure.rank} on {first_failure.node.name}: {first_failure.reason}"[:500],
        exit_code=first_failure.exit_code,
        signal_number=first_failure.signal,
        gpu_seconds=runtime * gpus,
    )


PART_WORKER_GONE = "its worker is gone; the node's agent stopped its processes"


def attempt_part_gone(*, part_id: int) -> None:
    """The node's agent found a part's group gone (stopped by it, or ended) with its worker gone: the
    part ended lost, unless its runner recorded its end first. The other parts then stop, and the
    attempt ends lost once they have: its job is requeued as any lost attempt's."""
    worker = AttemptPart.objects.filter(pk=part_id, state=AttemptPartState.RUNNING).values_list("worker", flat=True)
    for owner in worker:
        attempt_part_end(part_id=part_id, worker=owner, state=AttemptState.LOST, reason=PART_WORKER_GONE)


def attempts_release_unclaimed_parts(*, claim_timeout: timedelta, now=None) -> list[int]:
    """Attempts across nodes whose parts did not all claim within the claim timeout (a node's worker
    down, its queue lost): the parts that claimed let go of their GPUs, nothing of the attempt ever
    started, and the job waits for a new placement. Returns the attempts released."""
    now = now or timezone.now()
    stale = (
        Attempt.objects.filter(state=AttemptState.QUEUED, parts__isnull=False, enqueued_at__lt=now - claim_timeout)
        .values_list("pk", flat=True)
        .distinct()
    )
    return [attempt_id for attempt_id in list(stale) if _attempt_release_unclaimed(attempt_id, claim_timeout)]


@transaction.atomic
def _attempt_release_unclaimed(attempt_id: int, claim_timeout: timedelta) -> bool:
    attempt = Attempt.objects.select_for_update().get(pk=attempt_id)
    if attempt.state != AttemptState.QUEUED:
        return False  # its last part claimed meanwhile: it runs
    now = timezone.now()
    missing = attempt.parts.filter(state=AttemptPartState.QUEUED).select_related("node").order_by("rank")
    reason = UNCLAIMED_PARTS.format(
        nodes=", ".join(part.node.name for part in missing), seconds=claim_timeout.total_seconds()
    )
    attempt.state, attempt.reason, attempt.ended_at = AttemptState.LOST, reason, now
    attempt.processes_gone_at = now  # a part starts its processes only once every part claimed
    attempt.save(update_fields=["state", "reason", "ended_at", "processes_gone_at"])
    attempt.parts.update(state=AttemptPartState.ENDED, ended_at=now)
    _release_gpus(attempt, now)
    job = Job.objects.select_for_update().get(pk=attempt.job_id)
    if job.cancel_requested_at is not None:
        _job_end(job, JobState.CANCELLED, job.cancel_reason or "Cancelled before it started.")
    else:
        _job_after_loss(job, attempt)
    return True


@transaction.atomic
def attempt_finish(
    *, attempt: Attempt, state: str, reason: str = "", exit_code=None, signal_number=None, gpu_seconds=0.0
) -> Attempt:
    """End an attempt, free its GPUs from now on, and move the job on (done, or requeued after a loss)."""
    attempt = Attempt.objects.select_for_update().get(pk=attempt.pk)
    if attempt.state not in ATTEMPT_LIVE_STATES:
        return attempt  # already ended by another path (runner vs reaper): the first one wins
    now = timezone.now()
    attempt.state, attempt.reason, attempt.ended_at = state, reason, now
    attempt.exit_code, attempt.signal, attempt.gpu_seconds = exit_code, signal_number, gpu_seconds
    attempt.peak_memory_mb = _peak_memory_mb(attempt, now)
    attempt.save()
    _release_gpus(attempt, now)
    job = Job.objects.select_for_update().get(pk=attempt.job_id)
    attempt_usage_record(attempt=attempt, job=job, at=now)
    if state == AttemptState.CANCELLED and attempt.preempt_requested_at and job.cancel_requested_at is None:
        _job_requeue(job, f"Attempt {attempt.number} was preempted ({reason}); requeued.")
    elif state == AttemptState.LOST and job.cancel_requested_at is None:
        # Not requeued yet: its processes may still run on the node (docs/decisions.md §6, job_requeue_after_loss).
        job.state_reason = (
            f"Attempt {attempt.number} lost ({reason}); waiting until its node confirms its processes are gone."
        )
        job.save(update_fields=["state_reason"])
        _publish(job, "job.attempt_lost")
    else:
        _job_end(job, _JOB_STATE_FOR[state], reason)
    return attempt


@transaction.atomic
def job_requeue_after_loss(*, attempt: Attempt) -> None:
    """Once a lost attempt's processes are gone (or its node is down past the grace period): requeue,
    or fail the job when it has been lost too often. Never two live attempts of one job."""
    job = Job.objects.select_for_update().get(pk=attempt.job_id)
    if job.state != JobState.RUNNING or job.attempts.filter(state__in=ATTEMPT_LIVE_STATES).exists():
        return
    _job_after_loss(job, attempt)


_JOB_STATE_FOR = {
    AttemptState.SUCCEEDED: JobState.SUCCEEDED,
    AttemptState.FAILED: JobState.FAILED,
    AttemptState.CANCELLED: JobState.CANCELLED,
    AttemptState.TIMED_OUT: JobState.TIMED_OUT,
    AttemptState.LOST: JobState.CANCELLED,  # lost while a cancel was requested: it is cancelled
}


def _peak_memory_mb(attempt: Attempt, now) -> int | None:
    """The most GPU memory the attempt's processes held at once (NVML per-PID, from the agent).

    Where NVML gives no per-process memory (MIG), the highest memory used on any of its GPUs while
    it ran, from the samples: GPUs are allocated whole, so a GPU's memory is the job's. None ("n/a")
    when neither exists yet (a job of a few seconds may end before the agent's next tick).
    """
    if attempt.process_memory_peak_mb is not None:
        return attempt.process_memory_peak_mb
    if attempt.started_at is None:
        return None
    gpu_ids = attempt.allocations.values_list("gpu_id", flat=True)
    peak = GpuSample.objects.filter(gpu_id__in=gpu_ids, at__gte=attempt.started_at, at__lte=now).aggregate(
        m=Max("memory_used_mb")
    )["m"]
    return peak


def _release_gpus(attempt: Attempt, now) -> None:
    # Shrink the windows to what was used, so the GPUs are free from now on (and the record stays).
    JobAllocation.objects.filter(attempt=attempt, end__gt=now).update(end=now)
    GpuOccupancy.objects.filter(kind="job", attempt=attempt, end__gt=now, start__lt=now).update(end=now)
    GpuOccupancy.objects.filter(kind="job", attempt=attempt, start__gte=now).delete()


def _job_after_loss(job: Job, attempt: Attempt) -> None:
    losses = job.attempts.filter(state=AttemptState.LOST).count()
    if losses >= job.max_attempts:
        _job_end(job, JobState.FAILED, f"Lost {losses} times (limit {job.max_attempts}); last: {attempt.reason}")
        return
    _job_requeue(job, f"Attempt {attempt.number} was lost ({attempt.reason}); requeued.")


def _job_requeue(job: Job, reason: str) -> None:
    job.state, job.state_reason, job.pending_reason = JobState.PENDING, reason, "Requeued."
    job.save(update_fields=["state", "state_reason", "pending_reason"])
    _publish(job, "job.requeued")
    transaction.on_commit(_request_scheduling_pass)


def _job_end(job: Job, state: str, reason: str) -> None:
    job.state, job.state_reason, job.ended_at = state, reason, timezone.now()
    job.queue_position, job.pending_reason, job.estimated_start, job.fair_share_factor = None, "", None, None
    job.save()
    _publish(job, "job.ended")
    send_after_commit(job_ended, job_id=job.pk, state=state)
    failed = state in (JobState.FAILED, JobState.TIMED_OUT)
    kind = Notification.Kind.JOB_FAILED if failed else Notification.Kind.JOB_ENDED
    notification_send(
        user=job.owner,
        kind=kind,
        title=f"Job {job.pk} “{job.name}” {job.get_state_display().lower()}",
        body=reason,
        url=f"/jobs/{job.pk}/",
    )
    transaction.on_commit(_request_scheduling_pass)


def _publish(job: Job, kind: str) -> None:
    payload = {"job": job.pk, "state": job.state, "reason": job.state_reason}
    event_publish(topic=f"team.{job.team_id}", kind=kind, payload=payload)
    event_publish(topic=f"job.{job.pk}", kind=kind, payload=payload)


def _request_scheduling_pass() -> None:
    """Ask for a pass now; if the broker is unreachable, beat's periodic pass picks the work up."""
    try:
        scheduling_pass_send(requested_at=timezone.now().isoformat())
    except Exception:  # kombu raises several types; the job is safely in the database either way
        log.warning("could not enqueue a scheduling pass; the periodic pass will run it", exc_info=True)
