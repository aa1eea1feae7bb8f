"""The reports' filters, read the same way by the pages and the API (issue 24):

    range=day|week|month|custom   (default month)
    date=YYYY-MM-DD               a day of the range (day, week: the week starting Monday); default today
    month=YYYY-MM                 (month; default this month)
    start=YYYY-MM-DD&end=YYYY-MM-DD  (custom; both days included)
    scope=site|node|gpu_model|team|user  (default site) and of=<id, or the GPU model's name>

Days start at midnight in the site zone (docs/decisions.md §3). Bad input is a ReportInputError naming
its parameter (the views answer 400); a team admin naming another team, or a user outside their teams,
is Http404 (§2: reports are for site admins, and for team admins about their teams).
"""

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import Http404

from portal.inputs import InputError, month_from, year_check
from portal.reports.quotas import report_teams_for
from scheduler.selectors.reports import JobScope, node_exists

RANGES = ("day", "week", "month", "custom")
SCOPES = ("site", "node", "gpu_model", "team", "user")
MAX_DAYS = 2 * 366  # "a range over 2 years" is refused


class ReportInputError(ValueError):
    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class ReportFilter:
    range: str
    first_day: date
    last_day: date  # included
    lo: datetime  # UTC, inclusive
    hi: datetime  # UTC, exclusive
    scope: str
    of: str  # "" for the site
    job_scope: JobScope

    def query(self) -> dict[str, str]:
        """The parameters that name this filter (CSV links, the API's echo)."""
        out = {"range": "custom", "start": f"{self.first_day:%Y-%m-%d}", "end": f"{self.last_day:%Y-%m-%d}"}
        out["scope"] = self.scope
        if self.of:
            out["of"] = self.of
        return out

    def buckets(self) -> list[tuple[datetime, datetime]]:
        """The chart's steps: hours of the site zone for a day (23 or 25 on a clock change), its days
        up to 92 days, its months beyond; each as [lo, hi) UTC instants."""
        zone = _zone()
        if self.first_day == self.last_day:
            edges, at = [], self.lo
            while at < self.hi:
                edges.append(at)
                at += timedelta(hours=1)
        else:
            days = (self.last_day - self.first_day).days + 1
            edges, day = [], self.first_day
            while day <= self.last_day:
                edges.append(datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC))
                if days <= 92:
                    day += timedelta(days=1)
                else:
                    day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        edges.append(self.hi)
        return list(zip(edges, edges[1:], strict=False))

    def as_dict(self) -> dict:
        return {
            "range": self.range,
            "start": self.lo.isoformat(),
            "end": self.hi.isoformat(),
            "scope": self.scope,
            "of": self.of or None,
        }


def _zone():
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _day(params, name: str, default: date | None) -> date:
    raw = params.get(name)
    if not raw:
        if default is None:
            raise ReportInputError(name, f"{name}: give a day as YYYY-MM-DD.")
        return default
    try:
        value = date.fromisoformat(str(raw).strip())
    except ValueError:
        raise ReportInputError(name, f"{name}: give a day as YYYY-MM-DD, not {str(raw)[:40]!r}.") from None
    try:
        year_check(value.year)
    except InputError as exc:
        raise ReportInputError(name, f"{name}: {exc}") from None
    return value


def _days(params, now: datetime) -> tuple[str, date, date]:
    kind = params.get("range") or "month"
    today = now.astimezone(_zone()).date()
    if kind == "day":
        day = _day(params, "date", today)
        return kind, day, day
    if kind == "week":
        day = _day(params, "date", today)
        monday = day - timedelta(days=day.weekday())
        return kind, monday, monday + timedelta(days=6)
    if kind == "month":
        raw = params.get("month")
        try:
            first = month_from(raw) if raw else today.replace(day=1)
        except InputError as exc:
            raise ReportInputError("month", f"month: {exc}") from None
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return kind, first, following - timedelta(days=1)
    if kind == "custom":
        first, last = _day(params, "start", None), _day(params, "end", None)
        if last < first:
            raise ReportInputError("end", "end: the range ends before it starts; give an end on or after start.")
        if (last - first).days + 1 > MAX_DAYS:
            raise ReportInputError("end", "end: a report covers at most 2 years; shorten the range.")
        return kind, first, last
    raise ReportInputError("range", f"range: one of {', '.join(RANGES)}.")


def _scope(params, user, team_ids: tuple[int, ...] | None) -> tuple[str, str, JobScope]:
    scope = params.get("scope") or "site"
    if scope not in SCOPES:
        raise ReportInputError("scope", f"scope: one of {', '.join(SCOPES)}.")
    if scope == "site":
        return scope, "", JobScope(team_ids=team_ids)
    of = str(params.get("of") or "").strip()
    if not of:
        raise ReportInputError("of", f"of: name the {scope.replace('_', ' ')} the report is about.")
    if scope == "gpu_model":
        return scope, of[:100], JobScope(team_ids=team_ids, gpu_model=of[:100])
    try:
        pk = int(of)
        if not 0 < pk < 2**31:
            raise ValueError
    except ValueError:
        raise ReportInputError("of", f"of: the {scope}'s id, a positive whole number.") from None
    if scope == "node":
        if not node_exists(pk):
            raise Http404("No such node.")
        return scope, of, JobScope(team_ids=team_ids, node_id=pk)
    if scope == "team":
        if team_ids is not None and pk not in team_ids:
            raise Http404("No such team among yours.")
        if team_ids is None and not report_teams_for(user).filter(pk=pk).exists():
            raise Http404("No such team.")
        return scope, of, JobScope(team_ids=(pk,))
    # user: a person in one of the reader's teams (any person for a site admin)
    people = get_user_model().objects.filter(pk=pk)
    if team_ids is not None:
        people = people.filter(memberships__team_id__in=team_ids)
    if not people.exists():
        raise Http404("No such person in your teams.")
    return scope, of, JobScope(team_ids=team_ids, user_id=pk)


def filter_from(params, *, user, now: datetime) -> ReportFilter:
    """The filter a request asks for; Http404 for someone who reads no report."""
    if user.is_staff:
        team_ids = None
    else:
        team_ids = tuple(report_teams_for(user).values_list("pk", flat=True))
        if not team_ids:
            raise Http404("Reports are for site admins and team admins.")
    kind, first, last = _days(params, now)
    scope, of, job_scope = _scope(params, user, team_ids)
    zone = _zone()
    lo = datetime(first.year, first.month, first.day, tzinfo=zone).astimezone(UTC)
    after = last + timedelta(days=1)
    hi = datetime(after.year, after.month, after.day, tzinfo=zone).astimezone(UTC)
    return ReportFilter(kind, first, last, lo, hi, scope, of, job_scope)
