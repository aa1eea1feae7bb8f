"""Reports read both scheduler and labeling selectors; this is the only module allowed to (CONTRACT 1)."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from portal.teams.access import teams_visible_to
from portal.teams.models import Role


@login_required
def report_index(request):
    if request.user.is_staff:
        teams = teams_visible_to(request.user)
    else:
        teams = teams_visible_to(request.user).filter(memberships__user=request.user, memberships__is_team_admin=True)
    return render(request, "reports/index.html", {"teams": teams, "team_admin_role": Role.TEAM_ADMIN})
