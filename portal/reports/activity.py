"""The admin reports of issue 24 as tables: each report is a function (filter -> Table) over one
scheduler selector, and a page, its CSV and its API answer are the same Table, so a download holds
exactly what the page shows. Durations are seconds in the CSV and API and h:mm on the page; GPU-hours
carry "GPU-h" in the column's label.
"""

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model

from labeling.selectors import reports as labeling_selectors
from portal.reports.filters import ReportFilter
from portal.teams.models import Team
from portal.teams.services import quota_of
from scheduler.selectors import reports as selectors
from scheduler.selectors.quotas import month_bounds

IDLE_SHOWN = 100  # the worst idle bookings a page and an API answer list; the CSV lists them all


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    unit: str = ""  # "GPU-h", "h:mm" (seconds underneath), "%", "time" (an ISO 8601 instant) or ""


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    actions: bool = False  # rows carry a booking id the page offers actions on
    chart: list[str] = field(default_factory=list)  # keys drawn in the page's chart (stacked: bottom first)
    chart_kind: str = "stacked"  # "stacked" areas (parts of a whole) or "lines" (each series on its own)
    chart_unit: str = "GPU-h"
    rows_total: int | None = None  # rows there are, where `rows` lists only the first of them

    def csv_rows(self) -> list[list]:
        return [[row[c.key] for c in self.columns] for row in self.rows]


def _names(team_ids=(), user_ids=()):
    teams = dict(Team.objects.filter(pk__in=set(team_ids)).values_list("pk", "name"))
    users = dict(get_user_model().objects.filter(pk__in=set(user_ids)).values_list("pk", "username"))
    return teams, users


def waits(f: ReportFilter) -> Table:
    found = selectors.queue_waits(lo=f.lo, hi=f.hi, scope=f.job_scope)
    teams, _ = _names(team_ids=[r.team_id for r in found])
    table = Table(
        "waits",
        "Queue waits (submit → start)",
        [
            Column("team", "Team"),
            Column("gpus", "GPUs"),
            Column("jobs", "Jobs started"),
            Column("p50_s", "p50 wait", "h:mm"),
            Column("p95_s", "p95 wait", "h:mm"),
            Column("waited_over_1h_pct", "Waited > 1 h", "%"),
        ],
    )
    for r in found:
        table.rows.append(
            {
                "team": teams.get(r.team_id, ""),
                "gpus": "all" if r.gpus is None else r.gpus,
                "jobs": r.jobs,
                "p50_s": round(r.p50_s),
                "p95_s": round(r.p95_s),
                "waited_over_1h_pct": round(100 * r.waited_over_1h / r.jobs, 1) if r.jobs else 0.0,
            }
        )
    return table


def outcomes(f: ReportFilter) -> Table:
    found = selectors.job_outcomes(lo=f.lo, hi=f.hi, scope=f.job_scope)
    teams, _ = _names(team_ids=[r.team_id for r in found])
    states = [s.value for s in selectors.OUTCOMES]
    table = Table(
        "outcomes",
        "Job outcomes (attempts ended in the range)",
        [Column("team", "Team")]
        + [Column(s, s.replace("_", " ").capitalize()) for s in states]
        + [Column("gpu_hours", "GPU-h used", "GPU-h"), Column("gpu_hours_lost", "GPU-h lost to failures", "GPU-h")],
    )
    for r in found:
        row = {"team": teams.get(r.team_id, "")}
        row.update({s: r.counts.get(s, 0) for s in states})
        row["gpu_hours"] = round(r.gpu_hours, 2)
        row["gpu_hours_lost"] = round(r.gpu_hours_lost, 2)
        table.rows.append(row)
    return table


def idle_tables(f: ReportFilter, *, now, limit: int | None = IDLE_SHOWN) -> list[Table]:
    """The idle bookings, worst first (at most `limit` of them; None: all, as the CSV), and the same
    figures folded per team and user, from one reading of the totals."""
    totals = selectors.idle_totals(lo=f.lo, hi=f.hi, scope=f.job_scope, now=now)
    teams, users = _names(team_ids={t.team_id for t in totals}, user_ids={t.user_id for t in totals})
    return [_idle_table(totals, limit=limit, teams=teams, users=users, now=now), _idle_owners(totals, teams, users)]


def idle(f: ReportFilter, *, now, limit: int | None = IDLE_SHOWN) -> Table:
    return idle_tables(f, now=now, limit=limit)[0]


def idle_by_owner(f: ReportFilter, *, now) -> Table:
    return idle_tables(f, now=now, limit=0)[1]


def _idle_table(totals, *, limit: int | None, teams, users, now) -> Table:
    table = Table(
        "idle",
        "Idle bookings (reserved, already passed, unused), worst first",
        [
            Column("booking", "Booking"),
            Column("team", "Team"),
            Column("user", "User"),
            Column("start", "Starts", "time"),
            Column("end", "Ends", "time"),
            Column("idle_gpu_hours", "Idle GPU-h", "GPU-h"),
        ],
        actions=True,
        rows_total=len(totals),
    )
    for r in selectors.idle_rows(totals if limit is None else totals[:limit]):
        table.rows.append(
            {
                "booking": r.booking_id,
                "team": teams.get(r.team_id, ""),
                "user": users.get(r.user_id, ""),
                "start": r.start.isoformat(),
                "end": r.end.isoformat(),
                "idle_gpu_hours": round(r.idle_hours, 2),
                "releasable": r.state == "active" and r.end > now,
            }
        )
    return table


def _idle_owners(totals, teams, users) -> Table:
    """The idle table folded per team and user (the team's row first, user ""); each booking's hours
    are rounded as its row shows them, so the folds add up to the rows."""
    per_owner: dict[tuple, float] = defaultdict(float)
    for t in totals:
        per_owner[(t.team_id, t.user_id)] += round(t.idle_hours, 2)
    sums: dict[tuple[str, str], float] = {}
    for (team_id, user_id), hours in per_owner.items():
        team = teams.get(team_id, "")
        for key in ((team, ""), (team, users.get(user_id, ""))):
            sums[key] = sums.get(key, 0.0) + hours
    table = Table(
        "idle-owners",
        "Idle reserved GPU-h by team and user",
        [Column("team", "Team"), Column("user", "User"), Column("idle_gpu_hours", "Idle GPU-h", "GPU-h")],
    )
    for (team, user), hours in sorted(sums.items()):
        table.rows.append({"team": team, "user": user or "(team total)", "idle_gpu_hours": round(hours, 2)})
    return table


def burn(f: ReportFilter, *, now) -> Table:
    """Quota burn-down for the month holding the range's first day: each team's counted GPU-hours so
    far and booked for the whole month, against its monthly quota; the projection to month end is
    the pace so far (to date ÷ share of the month passed), never less than what is already booked."""
    lo, hi = month_bounds(f.first_day.replace(day=1))
    found = selectors.quota_burn(lo=lo, hi=hi, scope=f.job_scope, now=now)
    teams = {t.pk: t for t in Team.objects.filter(pk__in=[r.team_id for r in found])}
    passed = min(1.0, max(0.0, (now - lo) / (hi - lo)))
    month_hours = (hi - lo).total_seconds() / 3600
    table = Table(
        "burn",
        f"Quota burn-down, {f.first_day:%B %Y}",
        [
            Column("team", "Team"),
            Column("quota_gpu_hours", "Quota GPU-h", "GPU-h"),
            Column("to_date_gpu_hours", "Counted to date GPU-h", "GPU-h"),
            Column("month_gpu_hours", "Booked in the month GPU-h", "GPU-h"),
            Column("percent_of_quota", "Month of quota", "%"),
            Column("projected_gpu_hours", "Projected at month end GPU-h", "GPU-h"),
            Column("guaranteed_gpu_hours", "Guaranteed GPU-h", "GPU-h"),
            Column("guaranteed_used_pct", "Guaranteed share used", "%"),
        ],
    )
    for r in found:
        quota = quota_of(team=teams[r.team_id])
        limit = float(quota.gpu_hours_per_month)
        guaranteed = quota.guaranteed_gpus * month_hours
        projected = max(r.month_hours, r.to_date_hours / passed) if passed else r.month_hours
        table.rows.append(
            {
                "team": teams[r.team_id].name,
                "quota_gpu_hours": round(limit, 2),
                "to_date_gpu_hours": round(r.to_date_hours, 2),
                "month_gpu_hours": round(r.month_hours, 2),
                "percent_of_quota": round(100 * r.month_hours / limit, 1) if limit else 0.0,
                "projected_gpu_hours": round(projected, 2),
                "guaranteed_gpu_hours": round(guaranteed, 2),
                "guaranteed_used_pct": round(100 * r.to_date_hours / (guaranteed * passed), 1)
                if guaranteed and passed
                else 0.0,
            }
        )
    return table


def burn_daily(f: ReportFilter, *, now) -> Table:
    """The burn-down chart of the month holding the range's first day: per team, the share of its monthly
    quota counted by each day's end (days to come blank) and, from today, the projection at the pace so far
    (never below what is booked for the month), against the quota's 100 %."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    lo, hi = month_bounds(f.first_day.replace(day=1))
    days = _days_of(lo, hi, zone)
    by_team = selectors.quota_burn_by_day(days=days, scope=f.job_scope, now=now)
    month = {r.team_id: r.month_hours for r in selectors.quota_burn(lo=lo, hi=hi, scope=f.job_scope, now=now)}
    teams = {t.pk: t for t in Team.objects.filter(pk__in=by_team).order_by("name")}
    columns, keys = [Column("start", "Day", "time"), Column("quota_pct", "Quota", "%")], ["quota_pct"]
    for team in teams.values():
        for key, label in ((f"team_{team.pk}_pct", "used"), (f"team_{team.pk}_projected_pct", "projected")):
            columns.append(Column(key, f"{team.name} {label}", "%"))
            keys.append(key)
    table = Table("burn-daily", f"Quota used day by day, {f.first_day:%B %Y}", columns, chart=keys)
    table.chart_kind, table.chart_unit = "lines", "%"
    elapsed = max(0.0, (min(now, hi) - lo).total_seconds())
    for i, (start, end) in enumerate(days):
        row = {"start": start.astimezone(zone).isoformat(), "quota_pct": 100.0}
        for pk, team in teams.items():
            limit = float(quota_of(team=team).gpu_hours_per_month)
            used = by_team[pk][i]
            pace = by_team[pk][-1] if by_team[pk][-1] is not None else max(h for h in by_team[pk] if h is not None)
            projected = None
            if end >= now and elapsed:
                projected = max(pace / elapsed * (end - lo).total_seconds(), month[pk] if end == hi else 0.0)
            row[f"team_{pk}_pct"] = _percent(used, limit)
            row[f"team_{pk}_projected_pct"] = _percent(projected, limit)
        table.rows.append(row)
    return table


def _days_of(lo, hi, zone) -> list[tuple]:
    """The site zone's days from lo to hi as [start, end) UTC instants (23- and 25-hour days included)."""
    days, day = [], lo.astimezone(zone).date()
    while (start := datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)) < hi:
        following = day + timedelta(days=1)
        days.append((start, datetime(following.year, following.month, following.day, tzinfo=zone).astimezone(UTC)))
        day = following
    return days


def _percent(hours, limit: float):
    if hours is None or not limit:
        return None
    return round(100 * hours / limit, 1)


def labeling(f: ReportFilter) -> Table:
    """Items labelled and reviewed per local day and person, rejection rate, time per item."""
    scope = f.job_scope
    found = labeling_selectors.labeling_activity(lo=f.lo, hi=f.hi, team_ids=scope.team_ids, user_id=scope.user_id)
    _, users = _names(user_ids=[r.user_id for r in found])
    table = Table(
        "labeling",
        "Labeling per day and person",
        [
            Column("day", "Day"),
            Column("user", "Person"),
            Column("labelled", "Items labelled"),
            Column("seconds_per_item", "Time per item", "h:mm"),
            Column("reviewed", "Reviews"),
            Column("rejected", "Rejected"),
            Column("rejection_rate_pct", "Rejection rate", "%"),
        ],
    )
    for r in sorted(found, key=lambda r: (r.day, users.get(r.user_id, ""))):
        table.rows.append(
            {
                "day": f"{r.day:%Y-%m-%d}",
                "user": users.get(r.user_id, ""),
                "labelled": r.labelled,
                "seconds_per_item": round(r.focused_seconds / r.labelled) if r.labelled else 0,
                "reviewed": r.reviewed,
                "rejected": r.rejected,
                "rejection_rate_pct": round(100 * r.rejected / r.reviewed, 1) if r.reviewed else 0.0,
            }
        )
    return table


def agreement(f: ReportFilter) -> Table:
    found = labeling_selectors.labeling_agreement(lo=f.lo, hi=f.hi, team_ids=f.job_scope.team_ids)
    table = Table(
        "agreement",
        "Agreement where items have several annotators",
        [
            Column("dataset", "Dataset"),
            Column("items", "Items"),
            Column("pairs", "Pairs"),
            Column("f1", "F1 (IoU ≥ 0.5)"),
            Column("character_error_rate", "Text CER"),
        ],
    )
    for r in found:
        table.rows.append(
            {
                "dataset": r.dataset,
                "items": r.items,
                "pairs": r.pairs,
                "f1": "" if r.f1 is None else r.f1,
                "character_error_rate": "" if r.character_error_rate is None else r.character_error_rate,
            }
        )
    return table


def split(f: ReportFilter, *, now) -> Table:
    """GPU time split over the range's steps, and a total row; what the stacked area chart draws."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    found = selectors.gpu_time_split(buckets=f.buckets(), scope=f.job_scope, now=now)
    keys = ["jobs_gpu_hours", "booked_used_gpu_hours", "booked_idle_gpu_hours", "drained_gpu_hours", "free_gpu_hours"]
    table = Table(
        "split",
        "GPU time split",
        [
            Column("start", "From", "time"),
            Column("jobs_gpu_hours", "Used by jobs GPU-h", "GPU-h"),
            Column("booked_used_gpu_hours", "Booked and used GPU-h", "GPU-h"),
            Column("booked_idle_gpu_hours", "Booked and idle GPU-h", "GPU-h"),
            Column("drained_gpu_hours", "Drained GPU-h", "GPU-h"),
            Column("free_gpu_hours", "Free GPU-h", "GPU-h"),
            Column("capacity_gpu_hours", "Capacity GPU-h", "GPU-h"),
        ],
        chart=keys,
    )
    totals = dict.fromkeys(keys + ["capacity_gpu_hours"], 0.0)
    for r in found:
        row = {
            "start": r.start.astimezone(zone).isoformat(),
            "jobs_gpu_hours": r.job_hours,
            "booked_used_gpu_hours": max(0.0, r.booked_hours - r.idle_hours),
            "booked_idle_gpu_hours": r.idle_hours,
            "drained_gpu_hours": r.drained_hours,
            "free_gpu_hours": max(0.0, r.capacity_hours - r.job_hours - r.booked_hours - r.drained_hours),
            "capacity_gpu_hours": r.capacity_hours,
        }
        for key in totals:
            totals[key] += row[key]
        table.rows.append({k: v if k == "start" else round(v, 2) for k, v in row.items()})
    table.rows.append({"start": "total", **{k: round(v, 2) for k, v in totals.items()}})
    return table


REPORTS = {
    "split": lambda f, now: split(f, now=now),
    "labeling": lambda f, now: labeling(f),
    "agreement": lambda f, now: agreement(f),
    "burn": lambda f, now: burn(f, now=now),
    "burn-daily": lambda f, now: burn_daily(f, now=now),
    "waits": lambda f, now: waits(f),
    "outcomes": lambda f, now: outcomes(f),
    "idle": lambda f, now: idle(f, now=now),
    "idle-owners": lambda f, now: idle_by_owner(f, now=now),
}


def shown(value, unit: str) -> str:
    """A cell as the page shows it: h:mm for durations (seconds underneath), two decimals for GPU-h,
    instants in the site zone to the minute (a day's start as the day)."""
    if value is None:
        return ""
    if unit == "time":
        return _local_time(value)
    if unit == "h:mm":
        minutes = round(value / 60)
        return f"{minutes // 60}:{minutes % 60:02d}"
    if unit == "GPU-h":
        return f"{value:.2f}"
    if unit == "%":
        return f"{value:.1f} %"
    return str(value)


def _local_time(value: str) -> str:
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:  # a table's "total" row
        return value
    local = instant.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE))
    return f"{local:%Y-%m-%d}" if (local.hour, local.minute) == (0, 0) else f"{local:%Y-%m-%d %H:%M}"
