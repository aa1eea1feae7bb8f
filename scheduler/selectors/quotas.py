"""Quota usage: computed here, from the occupancy table; the limits live in portal.teams.TeamQuota.

GPU-hours are counted on UTC instants (a Berlin 09:00 -> 09:00 across the spring change is 23 h).
Every occupancy row counts once: a booking its reserved window, a job outside any booking its row;
a job inside its team's booking writes no row (docs/decisions.md §4), so the same GPU-hour never counts twice.
Months start at midnight in the site zone (settings.TIME_ZONE, docs/decisions.md §3).
"""

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db.models import DurationField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from portal.inputs import month_from
from portal.teams.services import quota_of  # limits live in portal (docs/decisions.md §1)
from scheduler.models import Booking, BookingIdlePeriod, GpuOccupancy, OccupancyKind
from scheduler.selectors import usage_totals
from scheduler.selectors.chunks import in_chunks

HOUR = 3600.0


@dataclass(frozen=True)
class Usage:
    reserved_hours: float = 0.0  # booking rows
    used_hours: float = 0.0  # job rows (jobs outside bookings)
    idle_hours: float = 0.0  # reserved hours, already passed, while a booking was found idle

    @property
    def counted_hours(self) -> float:
        return self.reserved_hours + self.used_hours


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[first midnight of the month, first midnight of the next) in the site zone, as UTC instants."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    first = datetime(month.year, month.month, 1, tzinfo=zone)
    following = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=zone)
    return first.astimezone(UTC), following.astimezone(UTC)


def month_of(instant: datetime) -> date:
    local = instant.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE))
    return date(local.year, local.month, 1)


def months_touched(start: datetime, end: datetime) -> list[date]:
    months, current = [], month_of(start)
    last = month_of(end - timedelta(microseconds=1))
    while current <= last:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def overlap_hours(start: datetime, end: datetime, lo: datetime, hi: datetime) -> float:
    return max(0.0, (min(end, hi) - max(start, lo)).total_seconds()) / HOUR


def team_hours_in(*, team_id: int, lo: datetime, hi: datetime, exclude_booking_id: int | None = None) -> float:
    """GPU-hours the team's occupancy rows hold inside [lo, hi): what the monthly quota counts."""
    rows = GpuOccupancy.objects.filter(team_id=team_id, start__lt=hi, end__gt=lo)
    if exclude_booking_id is not None:
        rows = rows.exclude(booking_id=exclude_booking_id)
    # Summed by the database: a month of a busy team is thousands of rows, and reading each one's two
    # timestamps into Python was most of a booking's time (docs/benchmarks.md, Bookings).
    held = ExpressionWrapper(Least(F("end"), Value(hi)) - Greatest(F("start"), Value(lo)), output_field=DurationField())
    total = rows.aggregate(total=Sum(held))["total"]
    return total.total_seconds() / HOUR if total else 0.0


def team_peak_gpus(*, team_id: int, lo: datetime, hi: datetime, exclude_booking_id: int | None = None) -> int:
    """The most GPUs the team holds at any instant of [lo, hi)."""
    rows = GpuOccupancy.objects.filter(team_id=team_id, start__lt=hi, end__gt=lo)
    if exclude_booking_id is not None:
        rows = rows.exclude(booking_id=exclude_booking_id)
    windows = list(rows.values_list("start", "end"))
    # Sweep: at equal instants an end sorts before a start, because windows are half-open.
    edges = sorted([(max(s, lo), 1) for s, _ in windows] + [(min(e, hi), -1) for _, e in windows])
    peak = held = 0
    for _, step in edges:
        held += step
        peak = max(peak, held)
    return peak


def usage_by_team(*, month: date, team_ids=None, now: datetime | None = None) -> dict[int, Usage]:
    usage = _usage(month=month, team_ids=team_ids, per_user=False, now=now)
    return {key[0]: used for key, used in usage.items()}


def usage_by_team_and_user(
    *, month: date, team_ids=None, now: datetime | None = None
) -> dict[tuple[int, int | None], Usage]:
    return _usage(month=month, team_ids=team_ids, per_user=True, now=now)


def team_usage(*, team_id: int, month: date, now: datetime | None = None) -> Usage:
    return usage_by_team(month=month, team_ids=[team_id], now=now).get(team_id, Usage())


def _usage(*, month: date, team_ids, per_user: bool, now: datetime | None) -> dict[tuple, Usage]:
    """The month's hours per team (and user): the hours beat has rolled from its totals, the rest (the
    hours not settled yet, and bookings ahead, which count as reserved) from the occupancy rows."""
    lo, hi = month_bounds(month)
    now = now or timezone.now()
    live_from = usage_totals.rolled_from(lo, min(hi, now))
    sums: dict[tuple, dict[str, float]] = defaultdict(lambda: {"reserved": 0.0, "used": 0.0, "idle": 0.0})
    if live_from > lo:
        rolled = usage_totals.seconds_by_team_and_user(lo=lo, hi=live_from, team_ids=team_ids)
        for (team_id, user_id), (job, booked, idle) in rolled.items():
            key = (team_id, user_id if per_user else None)
            sums[key]["used"] += job / HOUR
            sums[key]["reserved"] += booked / HOUR
            sums[key]["idle"] += idle / HOUR
    rows = GpuOccupancy.objects.filter(start__lt=hi, end__gt=live_from)
    if team_ids is not None:
        rows = of_teams(rows, team_ids)
    for team_id, user_id, kind, s, e in rows.values_list("team_id", "user_id", "kind", "start", "end"):
        key = (team_id, user_id if per_user else None)
        sums[key]["reserved" if kind == OccupancyKind.BOOKING else "used"] += overlap_hours(s, e, live_from, hi)
    if live_from < min(hi, now):
        for key, hours in _idle_hours(lo=live_from, hi=min(hi, now), team_ids=team_ids, per_user=per_user).items():
            sums[key]["idle"] += hours
    return {
        key: Usage(reserved_hours=v["reserved"], used_hours=v["used"], idle_hours=v["idle"]) for key, v in sums.items()
    }


def of_teams(rows, team_ids):
    """Occupancy rows narrowed to the teams in a way no index can lead: SQLite, which keeps no
    statistics, would otherwise walk every row those teams ever held through the (team, start) index
    (a second at a year of 1,024 GPUs) instead of the few that end after the range's start."""
    return rows.alias(team_not_indexed=F("team_id") + 0).filter(team_not_indexed__in=team_ids)


def _idle_hours(*, lo, hi, team_ids, per_user: bool) -> dict[tuple, float]:
    """Reserved hours over each idle period of a flagged booking: from the moment its GPUs went idle
    until they were busy again, or to the booking's (possibly released) end while still idle.

    Only hours before `hi` count, and callers pass at most now: an hour still to come is reserved,
    not (yet) idle; the booking may be used or released before it.
    """
    # The bookings that overlap [lo, hi) first, found by their end alone (indexed) and narrowed to the
    # teams here: asked with the team, the database walks every booking those teams ever made, and
    # "idle since before hi" alone matches every idle period in history.
    teams = None if team_ids is None else set(team_ids)
    owners = {
        pk: (team_id, user_id)
        for pk, team_id, user_id in Booking.objects.filter(end__gt=lo, start__lt=hi).values_list(
            "pk", "team_id", "user_id"
        )
        if teams is None or team_id in teams
    }
    hours: dict[tuple, float] = defaultdict(float)
    for chunk in in_chunks(list(owners)):
        for booking_id, booking_hours in _idle_hours_of(chunk, lo=lo, hi=hi).items():
            team_id, user_id = owners[booking_id]
            hours[(team_id, user_id if per_user else None)] += booking_hours
    return hours


def _idle_hours_of(booking_ids: list[int], *, lo, hi) -> dict[int, float]:
    """Per booking, its idle GPU-hours inside [lo, hi): each idle period over each of its occupancy rows."""
    periods = BookingIdlePeriod.objects.filter(booking_id__in=booking_ids, start__lt=hi).filter(
        Q(end__isnull=True) | Q(end__gt=lo)
    )
    spans = list(periods.order_by().values_list("booking_id", "start", "end"))  # no join for the default order
    held: dict[int, list] = defaultdict(list)
    rows = GpuOccupancy.objects.filter(booking_id__in={booking_id for booking_id, _, _ in spans})
    for booking_id, start, end in rows.order_by().values_list("booking_id", "start", "end"):
        held[booking_id].append((start, end))
    hours: dict[int, float] = defaultdict(float)
    for booking_id, idle_start, idle_end in spans:
        for start, end in held[booking_id]:
            end = end if idle_end is None else min(end, idle_end)
            if end > idle_start:
                hours[booking_id] += overlap_hours(max(start, idle_start), end, lo, hi)
    return hours


def month_parse(raw: str | None, *, default: datetime) -> date:
    """'2026-11' -> date(2026, 11, 1), years 2000–2100 (portal.inputs.InputError, a ValueError,
    otherwise); no value means the month of `default` in the site zone."""
    if not raw:
        return month_of(default)
    return month_from(raw)


def quota_summary(*, team, month: date) -> dict:
    """The team's limits and usage for a month, as the booking dialog and the usage API show them."""
    quota = quota_of(team=team)
    usage = team_usage(team_id=team.pk, month=month)
    limit = float(quota.gpu_hours_per_month)
    return {
        "team": team.pk,
        "team_name": team.name,
        "month": f"{month:%Y-%m}",
        "reserved_gpu_hours": round(usage.reserved_hours, 2),
        "used_gpu_hours": round(usage.used_hours, 2),
        "idle_gpu_hours": round(usage.idle_hours, 2),
        "counted_gpu_hours": round(usage.counted_hours, 2),
        "gpu_hours_per_month": limit,
        "remaining_gpu_hours": round(limit - usage.counted_hours, 2),
        "percent_used": round(100 * usage.counted_hours / limit, 1) if limit else 0.0,
        "max_concurrent_gpus": quota.max_concurrent_gpus,
        "max_booking_hours": quota.max_booking_hours,
        "booking_horizon_days": quota.booking_horizon_days,
        "guaranteed_gpus": quota.guaranteed_gpus,
    }


def first_usage_month() -> date | None:
    """The month (site zone) of the earliest occupancy row: where monthly snapshots start catching up."""
    first = GpuOccupancy.objects.order_by("start").values_list("start", flat=True).first()
    return month_of(first) if first is not None else None
