"""Beat's hourly usage totals (models.UsageHour) for the reports (issue 24, docs/reports.md).

Each closed hour is split once into the GPU time every scope held in it: jobs outside bookings,
bookings, and the bookings' idle part, per site, node, GPU model, team and user; and each booking's
idle part per node (models.BookingIdleHour), for the idle bookings report. An hour is rolled
only once it has settled: an idle period is recorded after the booking has been idle for
BOOKING_IDLE_AFTER, with its start set back to when the idleness began, so an hour is final only that
long (and two idle checks) after it ended. Rolling is idempotent (an hour's rows are replaced in one
transaction) and catches up on hours missed while beat was down, oldest first, a bounded number per
run so one task never runs long.
"""

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Min, Q

from scheduler.models import BookingIdleHour, BookingIdlePeriod, GpuOccupancy, OccupancyKind, UsageDimension, UsageHour
from scheduler.selectors.usage_totals import HOUR, floor_hour, rolled_until

log = logging.getLogger(__name__)

CHUNK_HOURS = 24 * 7  # hours read and written together: a catch-up reads the rows once a week, not once a day
JOB, BOOKED, IDLE = 0, 1, 2


def settle_time() -> timedelta:
    """How long after its end an hour's figures can still change: a backdated idle period, plus margin."""
    return timedelta(seconds=settings.BOOKING_IDLE_AFTER + 2 * settings.BOOKING_IDLE_CHECK_INTERVAL) + timedelta(
        minutes=10
    )


def usage_hours_roll(*, now: datetime, max_hours: int = 24 * 31) -> int:
    """Roll the settled hours not rolled yet, oldest first, at most max_hours of them; the hours rolled."""
    upto = floor_hour(now - settle_time())
    start = rolled_until() or _first_hour()
    if start is None or start >= upto:
        return 0
    end = min(upto, start + max_hours * HOUR)
    chunk = start
    while chunk < end:
        chunk_end = min(end, chunk + CHUNK_HOURS * HOUR)
        try:
            _roll(chunk, chunk_end)
        except IntegrityError:  # another run wrote these hours meanwhile, from the same rows
            log.info("usage hours from %s rolled by another run; this one stops", chunk)
            return int((chunk - start) / HOUR)
        chunk = chunk_end
    return int((end - start) / HOUR)


def _first_hour() -> datetime | None:
    first = GpuOccupancy.objects.aggregate(first=Min("start"))["first"]
    return None if first is None else floor_hour(first)


def _roll(lo: datetime, hi: datetime) -> None:
    """Replace the totals of the hours in [lo, hi) with what the occupancy rows and idle periods say."""
    cells: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    occupancy = GpuOccupancy.objects.filter(start__lt=hi, end__gt=lo).values_list(
        "start", "end", "kind", "team_id", "user_id", "gpu__node_id", "gpu__model"
    )
    for start, end, kind, team, user, node, model in occupancy:
        measure = JOB if kind == OccupancyKind.JOB else BOOKED
        _add(cells, (team, user, node, model), measure, max(start, lo), min(end, hi))
    idle_by_booking: dict[tuple, float] = defaultdict(float)
    for start, end, booking, team, user, node, model in _idle_pairs(lo, hi):
        _add(cells, (team, user, node, model), IDLE, max(start, lo), min(end, hi))
        for hour, seconds in _hour_pieces(max(start, lo), min(end, hi)):
            idle_by_booking[(booking, team, user, node, model, hour)] += seconds
    rows = [UsageHour(hour=h, dimension=UsageDimension.SITE, key="", team_id=0) for h in _hours(lo, hi)]
    site = {row.hour: row for row in rows}
    for (dimension, key, team_id, hour), (job, booked, idle) in cells.items():
        if dimension == UsageDimension.SITE:
            row = site[hour]
        else:
            row = UsageHour(hour=hour, dimension=dimension, key=key, team_id=team_id)
            rows.append(row)
        row.job_seconds, row.booked_seconds, row.idle_seconds = job, booked, idle
    per_booking = [
        BookingIdleHour(
            hour=hour,
            booking_id=booking,
            team_id=team,
            user_id=user,
            node_id=node,
            gpu_model=model,
            idle_seconds=seconds,
        )
        for (booking, team, user, node, model, hour), seconds in idle_by_booking.items()
    ]
    with transaction.atomic():
        UsageHour.objects.filter(hour__gte=lo, hour__lt=hi).delete()
        BookingIdleHour.objects.filter(hour__gte=lo, hour__lt=hi).delete()
        UsageHour.objects.bulk_create(rows, batch_size=1000)
        BookingIdleHour.objects.bulk_create(per_booking, batch_size=1000)


def _idle_pairs(lo: datetime, hi: datetime):
    """(start, end, booking, team, user, node, GPU model) of each stretch an idle period shares with one
    of its booking's occupancy rows inside [lo, hi): the idle GPU-hours selectors.reports counts live."""
    pairs = BookingIdlePeriod.objects.filter(
        Q(end__isnull=True) | Q(end__gt=lo),
        Q(end__isnull=True) | Q(end__gt=F("booking__occupancy__start")),
        Q(booking__occupancy__end__gt=lo) & Q(booking__occupancy__end__gt=F("start")),
        start__lt=hi,
        booking__occupancy__start__lt=hi,
    ).values_list(
        "start",
        "end",
        "booking__occupancy__start",
        "booking__occupancy__end",
        "booking_id",
        "booking__team_id",
        "booking__user_id",
        "booking__occupancy__gpu__node_id",
        "booking__occupancy__gpu__model",
    )
    for start, end, held_start, held_end, booking, team, user, node, model in pairs:
        yield max(start, held_start), min(held_end, end or hi), booking, team, user, node, model


def _add(cells, who: tuple, measure: int, start: datetime, end: datetime) -> None:
    team, user, node, model = who
    keys = [
        (UsageDimension.SITE, "", 0),
        (UsageDimension.NODE, str(node), team),
        (UsageDimension.GPU_MODEL, model, team),
        (UsageDimension.TEAM, str(team), team),
    ]
    if user is not None:
        keys.append((UsageDimension.USER, str(user), team))
    for hour, seconds in _hour_pieces(start, end):
        for key in keys:
            cells[(*key, hour)][measure] += seconds


def _hour_pieces(start: datetime, end: datetime):
    """(hour, seconds of [start, end) in it) for each hour the stretch covers part of."""
    hour = floor_hour(start)
    while hour < end:
        seconds = (min(end, hour + HOUR) - max(start, hour)).total_seconds()
        if seconds > 0:
            yield hour, seconds
        hour += HOUR


def _hours(lo: datetime, hi: datetime) -> list[datetime]:
    hours, hour = [], lo
    while hour < hi:
        hours.append(hour)
        hour += HOUR
    return hours
