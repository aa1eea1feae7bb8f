"""Reports read both scheduler and labeling selectors; this is the only module allowed to (docs/decisions.md §1)."""

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone

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
    return render(request, "reports/index.html", {"teams": teams, "team_admin_role": Role.TEAM_ADMIN})


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
