"""Reports read both scheduler and labeling selectors; this is the only module allowed to (docs/decisions.md §1)."""

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode

from portal.reports import activity
from portal.reports.filters import RANGES, SCOPES, ReportInputError, filter_from
from portal.reports.quotas import CSV_HEADER, SORT_KEYS, csv_rows, quota_report, report_teams_for
from portal.teams.access import teams_visible_to
from portal.teams.models import Role
from scheduler.selectors.quotas import month_parse


@login_required
def report_index(request):
    if request.user.is_staff:
        teams = teams_visible_to(request.user)
    else:
        teams = teams_visible_to(request.user).filter(memberships__user=request.user, memberships__is_team_admin=True)
    context = {"teams": teams, "team_admin_role": Role.TEAM_ADMIN, "reports": _report_links()}
    return render(request, "reports/index.html", context)


def _report_links():
    """Each report on the index: its key, its name and what it answers."""
    return [
        ("split", "GPU time split", "GPU-hours of jobs, of bookings used and idle, drained and free, step by step"),
        ("burn", "Quota burn-down", "each team's month so far against its quota, and where its pace ends the month"),
        ("idle", "Idle bookings", "booked GPUs that sat unused, worst first, and whose they were"),
        ("waits", "Queue waits", "how long jobs waited to start, per team and GPU count"),
        ("outcomes", "Job outcomes", "how jobs ended: succeeded, failed, cancelled, timed out, lost"),
        ("labeling", "Labeling", "items labelled and reviewed per day and person, rejection rate, time per item"),
    ]


@login_required
def report_page(request, name: str):
    """One report of activity.REPORTS: the filter form, the table, its CSV (?format=csv)."""
    if name not in activity.REPORTS:
        raise Http404("No such report.")
    now = timezone.now()
    try:
        f = filter_from(request.GET, user=request.user, now=now)
    except ReportInputError as exc:  # a 400 page naming the parameter (portal.views.RefusalPages)
        raise ValidationError({exc.parameter: [str(exc)]}) from None
    csv_wanted = request.GET.get("format") == "csv"
    tables = _page_tables(name, f, now=now, every_row=csv_wanted)
    if csv_wanted:
        wanted = request.GET.get("table") or tables[0].name
        table = next((t for t in tables if t.name == wanted), tables[0])
        return _table_csv(table, f)
    shown_tables = [
        {
            "table": t,
            "csv": "?" + urlencode({**f.query(), "table": t.name, "format": "csv"}),
            "chart": _chart(t),
            "chart_id": f"chart-data-{t.name}",
            "rows": [{"cells": [activity.shown(row[c.key], c.unit) for c in t.columns], "row": row} for row in t.rows],
            "more": t.rows_total is not None and t.rows_total > len(t.rows),
        }
        for t in tables
    ]
    context = {
        "name": name,
        "filter": f,
        "tables": shown_tables,
        "any_chart": any(t["chart"] for t in shown_tables),
        "ranges": RANGES,
        "scopes": SCOPES,
        "reports": _report_links(),
        "params": request.GET,
    }
    return render(request, "reports/report.html", context)


def _page_tables(name: str, f, *, now, every_row: bool) -> list:
    """The report's tables as its page shows them; `every_row` for a CSV (the page lists the worst
    idle bookings only)."""
    if name == "idle":
        return activity.idle_tables(f, now=now, limit=None if every_row else activity.IDLE_SHOWN)
    tables = [activity.REPORTS[name](f, now)]
    if name == "burn":
        tables.append(activity.burn_daily(f, now=now))
    if name == "labeling":
        tables.append(activity.agreement(f))
    return tables


def _chart(table) -> dict | None:
    """The chart's data (static/portal/reports.js): the table's own rows, total left out."""
    if not table.chart:
        return None
    rows = [row for row in table.rows if row["start"] != "total"]
    labels = {c.key: c.label for c in table.columns}
    return {
        "kind": table.chart_kind,
        "unit": table.chart_unit,
        "t": [row["start"] for row in rows],
        "series": [{"label": labels[key], "values": [row[key] for row in rows]} for key in table.chart],
    }


def _table_csv(table, f) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{table.name}-{f.first_day:%Y-%m-%d}-{f.last_day:%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow([c.key for c in table.columns])
    writer.writerows(table.csv_rows())
    return response


@login_required
def quota_report_page(request):
    teams = report_teams_for(request.user)
    if not teams.exists():
        raise Http404("No report for you here.")  # reports are for site and team admins (docs/decisions.md §2)
    try:
        month = month_parse(request.GET.get("month"), default=timezone.now())
    except ValueError as exc:  # a 400 page naming it (portal.views.RefusalPages), as the API answers
        raise ValidationError({"month": [f"month: {exc}"]}) from None
    sort, order = request.GET.get("sort", "team"), request.GET.get("order", "asc")
    rows = quota_report(teams=teams, month=month, sort=sort, descending=order == "desc")
    if request.GET.get("format") == "csv":
        return _csv(rows, month=month)
    columns = [
        (key, label)
        for key, label in zip(
            SORT_KEYS, ("Team", "User", "Reserved GPU-h", "Used GPU-h", "Idle reserved GPU-h", "Quota GPU-h", "% used")
        )
    ]
    return render(
        request, "reports/quotas.html", {"rows": rows, "month": month, "sort": sort, "order": order, "columns": columns}
    )


def _csv(rows, *, month) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="quotas-{month:%Y-%m}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_rows(rows, month=month))
    return response
