"""Reading the hourly usage totals (models.UsageHour) that beat keeps for the reports (issue 24).

A report asks for GPU time in buckets of a range and a scope. The hours before `rolled_until()` are
read from the totals, a few hundred rows per scope and month; the rest (the last hours, not settled yet)
from the occupancy rows as before (selectors.reports). `scope_rows` says which totals add up to a
scope, or None where none do (a user on one node: no rows are kept per user and node), and the
report then reads everything live.
"""

from bisect import bisect_right
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.db.models import Sum

from scheduler.models import BookingIdleHour, UsageDimension, UsageHour

HOUR = timedelta(hours=1)


def rolled_until() -> datetime | None:
    """The end of the last rolled hour: every hour before it has its totals (None: none rolled yet)."""
    last = (
        UsageHour.objects.filter(dimension=UsageDimension.SITE, key="")
        .order_by("-hour")
        .values_list("hour", flat=True)
        .first()
    )
    return None if last is None else last + HOUR


def scope_rows(scope, *, by_team: bool = False):
    """The UsageHour rows whose sum is the scope's usage (scope: selectors.reports.JobScope), or None.
    With by_team, only rows that name their team (all but the site's)."""
    rows = UsageHour.objects.all()
    if scope.user_id is not None:
        if scope.node_id is not None or scope.gpu_model is not None:
            return None
        rows = rows.filter(dimension=UsageDimension.USER, key=str(scope.user_id))
    elif scope.node_id is not None:
        if scope.gpu_model is not None:
            return None
        rows = rows.filter(dimension=UsageDimension.NODE, key=str(scope.node_id))
    elif scope.gpu_model is not None:
        rows = rows.filter(dimension=UsageDimension.GPU_MODEL, key=scope.gpu_model)
    elif scope.team_ids is None and not by_team:
        return rows.filter(dimension=UsageDimension.SITE, key="", team_id=0)
    else:
        rows = rows.filter(dimension=UsageDimension.TEAM)
    return rows if scope.team_ids is None else rows.filter(team_id__in=scope.team_ids)


def seconds_in_buckets(rows, buckets: list[tuple[datetime, datetime]]) -> list[tuple[float, float, float]]:
    """(job, booked, idle) seconds of `rows` in each bucket; every bucket edge is a whole UTC hour."""
    edges = [lo for lo, _ in buckets]
    sums = [[0.0, 0.0, 0.0] for _ in buckets]
    found = rows.filter(hour__gte=buckets[0][0], hour__lt=buckets[-1][1]).values_list(
        "hour", "job_seconds", "booked_seconds", "idle_seconds"
    )
    for hour, job, booked, idle in found:
        i = bisect_right(edges, hour) - 1
        if hour < buckets[i][1]:
            sums[i][0] += job
            sums[i][1] += booked
            sums[i][2] += idle
    return [tuple(s) for s in sums]


def held_seconds_by_team(rows, buckets: list[tuple[datetime, datetime]]) -> dict[int, list[float]]:
    """Per team, the occupancy seconds (jobs and bookings) of `rows` in each bucket (whole hours)."""
    edges = [lo for lo, _ in buckets]
    held: dict[int, list[float]] = defaultdict(lambda: [0.0] * len(buckets))
    if not buckets:
        return {}
    found = rows.filter(hour__gte=buckets[0][0], hour__lt=buckets[-1][1]).values_list(
        "team_id", "hour", "job_seconds", "booked_seconds"
    )
    for team_id, hour, job, booked in found:
        i = bisect_right(edges, hour) - 1
        if hour < buckets[i][1]:
            held[team_id][i] += job + booked
    return dict(held)


def rolled_from(lo: datetime, upto: datetime) -> datetime:
    """The end of the rolled whole hours that start at `lo` and end by `upto`: lo itself where there
    are none (nothing rolled there yet, or lo is not on a whole hour)."""
    rolled = rolled_until()
    if rolled is None or not is_whole_hour(lo):
        return lo
    return max(lo, min(rolled, floor_hour(upto)))


def seconds_by_team_and_user(*, lo: datetime, hi: datetime, team_ids=None) -> dict[tuple, list[float]]:
    """(job, booked, idle) seconds per (team, user) in the rolled whole hours [lo, hi); user None holds
    what a team held with no user named (its total less its users')."""
    rows = UsageHour.objects.filter(dimension__in=[UsageDimension.TEAM, UsageDimension.USER], hour__gte=lo, hour__lt=hi)
    if team_ids is not None:
        rows = rows.filter(team_id__in=team_ids)
    sums = {"job": Sum("job_seconds"), "booked": Sum("booked_seconds"), "idle": Sum("idle_seconds")}
    found = rows.values("dimension", "key", "team_id").annotate(**sums)
    teams, per_user = {}, {}
    for row in found:
        seconds = [row["job"], row["booked"], row["idle"]]
        if row["dimension"] == UsageDimension.TEAM:
            teams[row["team_id"]] = seconds
        else:
            per_user[(row["team_id"], int(row["key"]))] = seconds
    for team_id, total in teams.items():
        named = [sum(s[m] for (team, _), s in per_user.items() if team == team_id) for m in range(3)]
        rest = [total[m] - named[m] for m in range(3)]
        if any(seconds > 0.5 for seconds in rest):  # more than float noise: rows with no user
            per_user[(team_id, None)] = rest
    return per_user


def idle_seconds_by_booking(scope, *, lo: datetime, hi: datetime) -> list[tuple[int, int, int | None, float]]:
    """(booking, team, user, idle GPU-seconds) of the scope's bookings in the whole hours [lo, hi),
    all before `rolled_until()`. Any scope narrows these rows: each names its node and GPU model."""
    rows = BookingIdleHour.objects.filter(hour__gte=lo, hour__lt=hi)
    rows = rows.filter(scope.where(team="team_id", user="user_id", node="node_id", model="gpu_model"))
    owners = ("booking_id", "team_id", "user_id")  # one team and user per booking: grouped by booking
    return list(rows.values(*owners).annotate(seconds=Sum("idle_seconds")).values_list(*owners, "seconds"))


def is_whole_hour(instant: datetime) -> bool:
    return instant.minute == 0 and instant.second == 0 and instant.microsecond == 0


def floor_hour(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(instant: datetime) -> datetime:
    return instant if is_whole_hour(instant) else floor_hour(instant) + HOUR
