"""Live fair share's usage as of an instant (docs/scheduling.md, "Live fair share"): the folded table
decayed to now, plus the part of every booking not folded yet that has already elapsed. Reads one row
per (team, user) and the live bookings' occupancy, never the history behind them."""

from collections import defaultdict
from datetime import datetime

from django.db.models import DurationField, ExpressionWrapper, F, Sum, Value
from django.db.models.functions import Least

from scheduler.models import Booking, FairShareUsage, GpuOccupancy, OccupancyKind
from scheduler.policy.ranking import decayed

# A user whose usage has decayed below this many GPU-seconds is left out, so that someone who left
# the team months ago no longer counts among its users (1,000 GPU-hours take about 22 half-lives).
FORGOTTEN_BELOW = 1.0


def usage_by_team_and_user(*, now: datetime, half_life_s: float) -> dict[tuple[int, int], float]:
    """GPU-seconds per (team id, user id), decayed to `now`. Running attempts are not in it: the
    policy counts their GPU-seconds so far itself, as it does in the replay."""
    usage: dict[tuple[int, int], float] = defaultdict(float)
    instant = now.timestamp()
    rows = FairShareUsage.objects.values_list("team_id", "user_id", "gpu_seconds", "as_of")
    for team_id, user_id, seconds, as_of in rows:
        used = decayed(seconds, as_of.timestamp(), instant, half_life_s)
        if used >= FORGOTTEN_BELOW:
            usage[(team_id, user_id)] += used
    # A booking withholds its GPUs from its start, used or not: while it lasts it counts undecayed,
    # like a running job, and the first pass after its end folds it into the table.
    live = Booking.objects.filter(usage_folded_at__isnull=True, start__lt=now)
    owners = {pk: (team_id, user_id) for pk, team_id, user_id in live.values_list("pk", "team_id", "user_id")}
    for pk, seconds in booking_seconds_held(booking_ids=list(owners), until=now).items():
        usage[owners[pk]] += seconds
    return dict(usage)


def booking_seconds_held(*, booking_ids: list[int], until: datetime) -> dict[int, float]:
    """GPU-seconds each booking's occupancy rows held before `until` (one cancelled before it began
    has no rows, so none); summed by the database."""
    held = ExpressionWrapper(Least(F("end"), Value(until)) - F("start"), output_field=DurationField())
    rows = (
        GpuOccupancy.objects.filter(kind=OccupancyKind.BOOKING, booking_id__in=booking_ids, start__lt=until)
        .values("booking_id")
        .annotate(total=Sum(held))
    )
    return {row["booking_id"]: row["total"].total_seconds() for row in rows if row["total"]}
