"""Booking GPUs: create, extend or shorten, cancel. Every write is one transaction; nothing is
half-written on any error.

The invariant "no GPU held twice at overlapping times" lives in the occupancy table (docs/decisions.md §4): on
PostgreSQL its exclusion constraint refuses the second writer of a race; on SQLite the IMMEDIATE
transaction serialises writers and the overlap check below runs inside it. The team's quota row is
locked first (SELECT ... FOR UPDATE, a no-op on SQLite) so that two bookings of one team cannot both
pass the quota check on PostgreSQL.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from portal.audit.models import AuditEntry
from portal.audit.services import audit_record
from portal.errors import Conflict, Invalid
from portal.realtime.services import event_publish
from portal.teams.models import Membership, Team, TeamQuota
from scheduler import access
from scheduler.models import Booking, BookingState, Gpu, GpuOccupancy, GpuState, OccupancyKind
from scheduler.selectors import quotas
from scheduler.selectors.placement import GpuRequest, availability_find, busy_gpu_ids, by_node, gpus_matching, gpus_pick

# Clock skew between a browser and the server: a start this far in the past still counts as "now".
PAST_TOLERANCE = timedelta(minutes=2)
# Beyond any team's limits: a typo (year 2062), not a plan. Quota limits apply below this.
ABSURD_LENGTH = timedelta(days=366)
SUGGESTIONS = 3

END_NOT_AFTER_START = "The end must be after the start."
START_IN_PAST = "The start is in the past."
END_IN_PAST = "The end is in the past: a booking ends now at the earliest."
ABSURD = "A booking cannot last longer than 366 days."
NO_GPUS = "Ask for at least one GPU."
MORE_THAN_EXIST = "Asked for {count} GPUs; only {total} match the request."
UNKNOWN_GPU = "No GPU with id {id}."
GPU_NOT_BOOKABLE = "GPU {name} is {state}: it cannot be booked."
DUPLICATE_GPU = "GPU {id} is listed twice."
NO_TEAM = "You are in no team that may book GPUs (researchers and team admins book)."
TEAM_REQUIRED = "You are in several teams: say which one books."
NOT_A_BOOKER = "Only the team's researchers and team admins book its GPUs."
TAKEN = "The GPUs are already held for part of that window."
NO_FIT = "Not enough free GPUs match the request for that window."
CANCELLED = "The booking is cancelled."
ENDED = "The booking has ended."
NOT_STARTED = "The booking has not started: cancel it instead."
STARTED_START_FIXED = "The booking has started: its start cannot move."
STARTED_ONLY_SHORTEN = "The booking has started: it can only be shortened or ended now."
NOTE_OWNER_ONLY = "Only the owner changes a booking's note."
QUOTA_LENGTH = "The booking is {requested:g} h long; the team's limit is {limit:g} h (over by {over:g} h)."
QUOTA_HORIZON = (
    "The booking ends {requested:g} days ahead; the team may book {limit:g} days ahead (over by {over:g} days)."
)
QUOTA_CONCURRENT = "The team would hold {requested:g} GPUs at once; its limit is {limit:g} (over by {over:g})."
QUOTA_HOURS = (
    "The team would use {requested:g} GPU-hours in {month}; its monthly quota is {limit:g} (over by {over:g})."
)


class QuotaExceeded(Invalid):
    """400 naming the limit, with a `quota` key saying which limit and by how much."""

    def __init__(self, *, limit_name: str, message: str, limit: float, requested: float):
        super().__init__({limit_name: [message]})
        self.extra = {
            "quota": {
                "limit": limit_name,
                "value": limit,
                "requested": requested,
                "over_by": round(requested - limit, 2),
            }
        }


BOOKING_EVENT = "booking.changed"


class _Taken(Exception):
    """Raised inside the transaction so it rolls back; turned into a 409 outside it."""


def invalid(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


# --- create ---------------------------------------------------------------------------------


def booking_create(
    *,
    user,
    start: datetime,
    end: datetime,
    request: GpuRequest,
    team: Team | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Booking:
    now = now or timezone.now()
    window_check(start=start, end=end, now=now)
    team = booking_team(user=user, team=team)
    request_check(request)
    try:
        with transaction.atomic():
            quota = _lock_quota(team)
            gpus = _gpus_for(request, start=start, end=end)
            quota_check(quota=quota, gpu_count=len(gpus), start=start, end=end, now=now)
            booking = _write(user=user, team=team, gpus=gpus, start=start, end=end, note=note)
            booking_changed_publish(booking=booking, action="created")
            return booking
    except (_Taken, IntegrityError) as exc:
        if isinstance(exc, IntegrityError) and not _is_overlap(exc):
            raise
        raise _conflict(viewer=user, request=request, start=start, end=end, now=now, exclude=None) from None


def window_check(*, start: datetime, end: datetime, now: datetime) -> None:
    if end <= start:
        raise invalid("end", END_NOT_AFTER_START)
    if start < now - PAST_TOLERANCE:
        raise invalid("start", START_IN_PAST)
    if end - start > ABSURD_LENGTH:
        raise invalid("end", ABSURD)


def booking_team(*, user, team: Team | None) -> Team:
    memberships = Membership.objects.filter(Q(is_researcher=True) | Q(is_team_admin=True), user=user)
    if team is not None:
        if user.is_staff or memberships.filter(team=team).exists():
            return team
        raise invalid("team", NOT_A_BOOKER)
    team_ids = sorted(set(memberships.values_list("team_id", flat=True)))
    if not team_ids:
        raise invalid("team", NO_TEAM)
    if len(team_ids) > 1:
        raise invalid("team", TEAM_REQUIRED)
    return Team.objects.get(pk=team_ids[0])


def request_check(request: GpuRequest) -> None:
    """What can be judged without the window: counts and named GPUs."""
    if request.gpu_ids:
        _named_gpus_check(request.gpu_ids)
        return
    if not request.count or request.count < 1:
        raise invalid("gpus", NO_GPUS)
    total = gpus_matching(request).count()
    if request.count > total:
        raise invalid("gpus", MORE_THAN_EXIST.format(count=request.count, total=total))


def _named_gpus_check(gpu_ids) -> None:
    if len(set(gpu_ids)) != len(gpu_ids):
        duplicate = next(g for g in gpu_ids if list(gpu_ids).count(g) > 1)
        raise invalid("gpu_ids", DUPLICATE_GPU.format(id=duplicate))
    found = {gpu.pk: gpu for gpu in Gpu.objects.filter(pk__in=gpu_ids).select_related("node")}
    for gpu_id in gpu_ids:
        gpu = found.get(gpu_id)
        if gpu is None:
            raise invalid("gpu_ids", UNKNOWN_GPU.format(id=gpu_id))
        if gpu.state != GpuState.AVAILABLE or gpu.node.drained:
            state = gpu.state if gpu.state != GpuState.AVAILABLE else GpuState.DRAINED
            raise invalid("gpu_ids", GPU_NOT_BOOKABLE.format(name=str(gpu), state=state))


def _lock_quota(team: Team) -> TeamQuota:
    quota = TeamQuota.objects.select_for_update().filter(team=team).first()
    return quota or TeamQuota.objects.create(team=team)


def _gpus_for(request: GpuRequest, *, start, end, exclude: int | None = None) -> list[Gpu]:
    candidates = list(gpus_matching(request))
    busy = busy_gpu_ids(gpu_ids=[g.pk for g in candidates], start=start, end=end, exclude_booking_id=exclude)
    if request.gpu_ids:
        if busy:
            raise _Taken()
        return candidates
    chosen = gpus_pick(
        by_node([g for g in candidates if g.pk not in busy]), count=request.wanted, same_node=request.same_node
    )
    if chosen is None:
        raise _Taken()
    return chosen


def _write(*, user, team, gpus, start, end, note) -> Booking:
    booking = Booking.objects.create(user=user, team=team, note=note, start=start, end=end)
    booking.gpus.set(gpus)
    # Rows in GPU id order: two writers waiting on each other's rows (PostgreSQL) wait in the same
    # order, so they queue instead of deadlocking.
    GpuOccupancy.objects.bulk_create(
        GpuOccupancy(gpu=gpu, team=team, user=user, kind=OccupancyKind.BOOKING, start=start, end=end, booking=booking)
        for gpu in sorted(gpus, key=lambda g: g.pk)
    )
    return booking


def _is_overlap(exc: IntegrityError) -> bool:
    """The PostgreSQL exclusion constraint (SQLSTATE 23P01), as opposed to any other integrity error."""
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) == "23P01" or "occupancy_no_overlap_per_gpu" in str(exc)


# --- quota --------------------------------------------------------------------------------


def quota_check(*, quota: TeamQuota, gpu_count: int, start, end, now, exclude: int | None = None) -> None:
    """Refuse what would break any of the team's limits, saying which one and by how much."""
    hours = (end - start).total_seconds() / 3600
    _limit("max_booking_hours", QUOTA_LENGTH, limit=float(quota.max_booking_hours), requested=round(hours, 2))
    ahead = (end - now).total_seconds() / 86400
    _limit("booking_horizon_days", QUOTA_HORIZON, limit=float(quota.booking_horizon_days), requested=round(ahead, 2))
    peak = quotas.team_peak_gpus(team_id=quota.team_id, lo=start, hi=end, exclude_booking_id=exclude)
    _limit(
        "max_concurrent_gpus",
        QUOTA_CONCURRENT,
        limit=float(quota.max_concurrent_gpus),
        requested=float(peak + gpu_count),
    )
    for month in quotas.months_touched(start, end):
        lo, hi = quotas.month_bounds(month)
        used = quotas.team_hours_in(team_id=quota.team_id, lo=lo, hi=hi, exclude_booking_id=exclude)
        wanted = used + gpu_count * quotas.overlap_hours(start, end, lo, hi)
        _limit(
            "gpu_hours_per_month",
            QUOTA_HOURS,
            limit=float(quota.gpu_hours_per_month),
            requested=round(wanted, 2),
            month=f"{month:%Y-%m}",
        )


def _limit(name: str, template: str, *, limit: float, requested: float, **fmt) -> None:
    if requested > limit + 1e-9:
        message = template.format(requested=requested, limit=limit, over=round(requested - limit, 2), **fmt)
        raise QuotaExceeded(limit_name=name, message=message, limit=limit, requested=requested)


# --- conflicts ------------------------------------------------------------------------------


def _conflict(*, viewer, request: GpuRequest, start, end, now, exclude: int | None) -> Conflict:
    """409 with what holds the GPUs (owner only where the viewer may see it) and the next free windows."""
    candidate_ids = [g.pk for g in gpus_matching(request)]
    rows = GpuOccupancy.objects.filter(gpu_id__in=candidate_ids, start__lt=end, end__gt=start).select_related(
        "gpu__node", "team", "user", "attempt"
    )
    if exclude is not None:
        rows = rows.exclude(booking_id=exclude)
    after = max(start, now)
    windows = availability_find(
        request=request, duration=end - start, after=after, limit=SUGGESTIONS, exclude_booking_id=exclude
    )
    return Conflict(
        TAKEN if request.gpu_ids else NO_FIT,
        conflicts=[
            access.occupancy_public_view(viewer=viewer, row=row) for row in rows.order_by("start", "gpu_id")[:50]
        ],
        suggestions=[
            {"start": w.start.isoformat(), "end": w.end.isoformat(), "gpu_ids": list(w.gpu_ids)} for w in windows
        ],
    )


# --- change ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    start: datetime | None = None
    end: datetime | None = None
    note: str | None = None


def booking_update(*, booking: Booking, by, change: Change, now: datetime | None = None) -> Booking:
    """Extend, shorten or move a booking that has not started; shorten or end now one that has."""
    now = now or timezone.now()
    if change.note is not None and by.pk != booking.user_id:
        raise PermissionDenied(NOTE_OWNER_ONLY)
    request = GpuRequest(gpu_ids=tuple(booking.gpus.values_list("pk", flat=True)))
    try:
        with transaction.atomic():
            quota = _lock_quota(booking.team)
            current = Booking.objects.select_for_update().get(pk=booking.pk)
            before = _window(current)
            start, end = _new_window(current, change, now=now)
            if (start, end) != (current.start, current.end):
                _move(current, quota=quota, start=start, end=end, now=now)
            if change.note is not None:
                current.note = change.note
            current.save()
            _audit_if_not_owner(current, by=by, action=AuditEntry.Action.BOOKING_CHANGE, before=before)
            booking_changed_publish(booking=current, action="updated")
            return current
    except (_Taken, IntegrityError) as exc:
        if isinstance(exc, IntegrityError) and not _is_overlap(exc):
            raise
        start, end = change.start or booking.start, change.end or booking.end
        raise _conflict(viewer=by, request=request, start=start, end=end, now=now, exclude=booking.pk) from None


def _new_window(current: Booking, change: Change, *, now) -> tuple[datetime, datetime]:
    if current.state == BookingState.CANCELLED:
        raise invalid("state", CANCELLED)
    if current.end <= now:
        raise invalid("state", ENDED)
    start, end = change.start or current.start, change.end or current.end
    if current.start <= now:
        return current.start, _started_end(current, change, start=start, end=end, now=now)
    window_check(start=start, end=end, now=now)
    return start, end


def _started_end(current: Booking, change: Change, *, start, end, now) -> datetime:
    """A running booking keeps its start and may only end earlier, never before now."""
    if start != current.start:
        raise invalid("start", STARTED_START_FIXED)
    if end > current.end:
        raise invalid("end", STARTED_ONLY_SHORTEN)
    if end < now - PAST_TOLERANCE:
        raise invalid("end", END_IN_PAST)
    end = max(end, now)
    if end <= current.start:
        raise invalid("end", END_NOT_AFTER_START)
    return end


def _move(current: Booking, *, quota, start, end, now) -> None:
    gpu_ids = list(current.occupancy.values_list("gpu_id", flat=True))
    if busy_gpu_ids(gpu_ids=gpu_ids, start=start, end=end, exclude_booking_id=current.pk):
        raise _Taken()
    growing = start < current.start or end > current.end
    if growing:
        quota_check(quota=quota, gpu_count=len(gpu_ids), start=start, end=end, now=now, exclude=current.pk)
    for row in current.occupancy.order_by("gpu_id"):  # GPU id order, as in _write
        row.start, row.end = start, end
        row.save(update_fields=["start", "end"])
    current.start, current.end = start, end


# --- cancel ---------------------------------------------------------------------------------


@transaction.atomic
def booking_cancel(*, booking: Booking, by, now: datetime | None = None) -> Booking:
    """Free what is left of the window at once; the record stays, cancelled. A started booking keeps
    the hours it already held (they were reserved, and the quota counts them)."""
    now = now or timezone.now()
    current = Booking.objects.select_for_update().get(pk=booking.pk)
    if current.state == BookingState.CANCELLED:
        raise invalid("state", CANCELLED)
    if current.end <= now:
        raise invalid("state", ENDED)
    before = _window(current)
    if current.start < now:
        current.occupancy.update(end=now)
        current.end = now
    else:
        current.occupancy.all().delete()
    current.state = BookingState.CANCELLED
    current.cancelled_at = now
    current.save()
    _audit_if_not_owner(current, by=by, action=AuditEntry.Action.BOOKING_CANCEL, before=before)
    booking_changed_publish(booking=current, action="cancelled")
    return current


def _window(booking: Booking) -> dict:
    return {"state": booking.state, "start": booking.start, "end": booking.end}


def _audit_if_not_owner(booking: Booking, *, by, action: str, before: dict) -> None:
    """A team admin or site admin changing someone else's booking is an administrative action."""
    after = _window(booking)
    if (by is not None and by.pk == booking.user_id) or after == before:
        return  # by None: the system (the idle auto-release), which is not the owner either
    audit_record(
        actor=by,
        action=action,
        team=booking.team,
        target_type="booking",
        target_id=booking.pk,
        target=f"booking {booking.pk} of {booking.user.username}",
        before=before,
        after=after,
    )


def booking_release(*, booking: Booking, by, now: datetime | None = None) -> Booking:
    """ "Release the rest" (the idle notification, My bookings): a running booking ends now and its
    GPUs are free again; it stays active, and the hours it held stay counted. Rights: the caller's
    (scheduler.access.access_booking_to_change)."""
    now = now or timezone.now()
    if booking.state == BookingState.ACTIVE and booking.start > now:
        raise invalid("state", NOT_STARTED)
    return booking_update(booking=booking, by=by, change=Change(end=now), now=now)


def booking_release_rest(*, booking: Booking, now: datetime) -> Booking:
    """End a running booking now, keeping it active (used by the idle auto-release)."""
    with transaction.atomic():
        current = Booking.objects.select_for_update().get(pk=booking.pk)
        if current.state != BookingState.ACTIVE or current.end <= now or current.start >= now:
            return current
        before = _window(current)
        current.occupancy.update(end=now)
        current.end = now
        current.idle_released_at = now
        current.save()
        _audit_if_not_owner(current, by=None, action=AuditEntry.Action.BOOKING_CHANGE, before=before)
        booking_changed_publish(booking=current, action="released")
        return current


# --- realtime -------------------------------------------------------------------------------


def booking_changed_publish(*, booking: Booking, action: str) -> None:
    """Tell open timelines to reread their window (created, updated, cancelled, released, idle, busy).

    Public topic: the timeline shows every booking to every signed-in user (docs/decisions.md §2). The payload
    carries no note and no names; pages reread through the API, which applies the visibility rules.
    Written in the caller's transaction, so a rolled-back change announces nothing.
    """
    payload = {"booking": booking.pk, "reservation": booking.pk, "action": action}  # `reservation`: the old name
    event_publish(topic="public", kind=BOOKING_EVENT, payload=payload)
