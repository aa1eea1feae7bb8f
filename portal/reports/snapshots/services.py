"""Taking monthly snapshots (docs/reports.md "Monthly snapshots").

After a month closes (midnight in the site zone, docs/decisions.md §3), beat's `reports.snapshots_take`
writes that month's figures: the quota report's reserved, used and idle GPU-hours per team and per
user, and the team's quota. It catches up every closed month without a snapshot since the first
occupancy, so months missed while beat was down are taken at its next run; a month already taken is
skipped (unique month; a concurrent run's insert fails on it and rolls back). Occupancy crossing the
month end (a running job, a booking) counts only up to the boundary: the usage selector clips each
window to [month start, next month start).
"""

from datetime import date, datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.reports.snapshots.models import SnapshotMonth, SnapshotRow
from portal.teams.models import Team
from portal.teams.services import quota_of
from scheduler.selectors import quotas as usage


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months_to_take(*, now: datetime) -> list[date]:
    """Closed months (before the month of `now`) since the first occupancy that have no snapshot."""
    first = usage.first_usage_month()
    if first is None:
        return []
    current = usage.month_of(now)
    taken = set(SnapshotMonth.objects.filter(month__gte=first).values_list("month", flat=True))
    months, month = [], first
    while month < current:
        if month not in taken:
            months.append(month)
        month = next_month(month)
    return months


def snapshots_take(*, now: datetime | None = None) -> list[date]:
    """Take every closed month still missing; returns the months taken by this call."""
    now = now or timezone.now()
    taken = []
    for month in months_to_take(now=now):
        if snapshot_take(month=month, now=now) is not None:
            taken.append(month)
    return taken


def snapshot_take(*, month: date, now: datetime) -> SnapshotMonth | None:
    """One closed month, in one transaction; None when it was taken already (by another run)."""
    if month >= usage.month_of(now):
        raise ValueError(f"{month:%Y-%m} has not closed yet")
    start, end = usage.month_bounds(month)
    try:
        with transaction.atomic():
            snapshot = SnapshotMonth.objects.create(
                month=month, taken_at=now, start=start, end=end, time_zone=settings.TIME_ZONE
            )
            SnapshotRow.objects.bulk_create(_rows(snapshot, month=month))
            return snapshot
    except IntegrityError:
        if SnapshotMonth.objects.filter(month=month).exists():
            return None
        raise


def _rows(snapshot: SnapshotMonth, *, month: date) -> list[SnapshotRow]:
    per_user = usage.usage_by_team_and_user(month=month, now=snapshot.end)
    names = dict(get_user_model().objects.filter(pk__in={u for _, u in per_user if u}).values_list("pk", "username"))
    rows = []
    for team in Team.objects.order_by("pk"):
        quota = float(quota_of(team=team).gpu_hours_per_month)
        mine = {user_id: u for (team_id, user_id), u in per_user.items() if team_id == team.pk}
        common = {"snapshot": snapshot, "team": team, "team_name": team.name, "quota_gpu_hours": quota}
        rows.append(
            SnapshotRow(
                **common,
                is_team_total=True,
                row_key="team",
                reserved_gpu_hours=sum(u.reserved_hours for u in mine.values()),
                used_gpu_hours=sum(u.used_hours for u in mine.values()),
                idle_gpu_hours=sum(u.idle_hours for u in mine.values()),
            )
        )
        rows += [
            SnapshotRow(
                **common,
                is_team_total=False,
                user_id=user_id,
                username=names.get(user_id, ""),
                row_key=f"user:{user_id if user_id else '-'}",
                reserved_gpu_hours=u.reserved_hours,
                used_gpu_hours=u.used_hours,
                idle_gpu_hours=u.idle_hours,
            )
            for user_id, u in mine.items()
        ]
    return rows
