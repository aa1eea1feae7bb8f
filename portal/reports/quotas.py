"""The quota report: per team and per user, for a month, reserved / used / idle GPU-hours against
the team's monthly quota. Reads scheduler selectors (reports are the one module that may)."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from portal.reports.snapshots.selectors import snapshot_rows
from portal.teams.models import Team
from portal.teams.services import quota_of
from scheduler.selectors import quotas as usage

SORT_KEYS = ("team", "user", "reserved", "used", "idle", "quota", "percent")


@dataclass(frozen=True)
class QuotaRow:
    team_id: int
    team: str
    user: str  # "" on the team's total row
    reserved: float
    used: float
    idle: float
    quota: float
    percent: float  # of the team's monthly quota

    def as_dict(self) -> dict:
        return {
            "team_id": self.team_id,
            "team": self.team,
            "user": self.user or None,
            "reserved_gpu_hours": self.reserved,
            "used_gpu_hours": self.used,
            "idle_gpu_hours": self.idle,
            "quota_gpu_hours": self.quota,
            "percent_used": self.percent,
        }


def report_teams_for(user):
    """Site admins read every team; team admins their own (docs/decisions.md §2)."""
    if user.is_staff:
        return Team.objects.all()
    return Team.objects.filter(memberships__user=user, memberships__is_team_admin=True).distinct()


def quota_report(*, teams, month, sort: str = "team", descending: bool = False) -> list[QuotaRow]:
    """A closed month with a snapshot reads the snapshot (docs/reports.md "Monthly snapshots"); the
    current month, and a closed one not taken yet, read live data."""
    teams = list(teams)
    snapshot = snapshot_rows(month=month, team_ids=[t.pk for t in teams])
    if snapshot is not None:
        return _sorted([_snapshot_row(r) for r in snapshot], sort=sort, descending=descending)
    per_user = usage.usage_by_team_and_user(month=month, team_ids=[t.pk for t in teams])
    names = dict(get_user_model().objects.filter(pk__in={u for _, u in per_user if u}).values_list("pk", "username"))
    rows = []
    for team in teams:
        limit = float(quota_of(team=team).gpu_hours_per_month)
        mine = {user_id: u for (team_id, user_id), u in per_user.items() if team_id == team.pk}
        total = [sum(getattr(u, f) for u in mine.values()) for f in ("reserved_hours", "used_hours", "idle_hours")]
        rows.append(_row(team, "", *total, limit=limit))
        rows += [
            _row(team, names.get(user_id, "(jobs)"), u.reserved_hours, u.used_hours, u.idle_hours, limit=limit)
            for user_id, u in mine.items()
        ]
    return _sorted(rows, sort=sort, descending=descending)


def _snapshot_row(row) -> QuotaRow:
    team = Team(pk=row.team_id, name=row.team_name)
    user = "" if row.is_team_total else row.username or "(jobs)"
    return _row(team, user, row.reserved_gpu_hours, row.used_gpu_hours, row.idle_gpu_hours, limit=row.quota_gpu_hours)


def _row(team, user, reserved, used, idle, *, limit) -> QuotaRow:
    percent = round(100 * (reserved + used) / limit, 1) if limit else 0.0
    return QuotaRow(team.pk, team.name, user, round(reserved, 2), round(used, 2), round(idle, 2), limit, percent)


def _sorted(rows: list[QuotaRow], *, sort: str, descending: bool) -> list[QuotaRow]:
    key = sort if sort in SORT_KEYS else "team"
    # Within a team the total row comes first unless the table is sorted by a number.
    rows = sorted(rows, key=lambda r: (r.team, r.user))
    if key in ("team", "user"):
        return sorted(rows, key=lambda r: (getattr(r, key), r.user), reverse=descending)
    return sorted(rows, key=lambda r: getattr(r, key), reverse=descending)


CSV_HEADER = [
    "month",
    "team",
    "user",
    "reserved_gpu_hours",
    "used_gpu_hours",
    "idle_gpu_hours",
    "quota_gpu_hours",
    "percent_used",
]


def csv_rows(rows: list[QuotaRow], *, month) -> list[list]:
    return [
        [f"{month:%Y-%m}", r.team, r.user or "(team total)", r.reserved, r.used, r.idle, r.quota, r.percent]
        for r in rows
    ]
