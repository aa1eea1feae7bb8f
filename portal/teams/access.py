"""The one place that decides what a person may see or change in portal (docs/decisions.md §2).

Anything a user may not see is a 404, never a 403, so ids do not leak.
"""

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import Http404

from portal.teams.models import Membership, Role, Team


def team_ids_of(user) -> set[int]:
    if not user.is_authenticated:
        return set()
    return set(Membership.objects.filter(user=user).values_list("team_id", flat=True))


def teams_visible_to(user) -> QuerySet[Team]:
    if user.is_staff:
        return Team.objects.all()
    return Team.objects.filter(memberships__user=user)


def access_team_for_user(user, team_id) -> Team:
    team = teams_visible_to(user).filter(pk=team_id).first()
    if team is None:
        raise Http404("No such team.")
    return team


def has_role(user, team_id: int, role: Role) -> bool:
    return Membership.objects.filter(user=user, team_id=team_id, **{f"is_{role.value}": True}).exists()


def may_administer_team(user, team_id: int) -> bool:
    return user.is_staff or has_role(user, team_id, Role.TEAM_ADMIN)


def team_admins_of(team_id: int) -> QuerySet:
    """The people who administer the team (site admins are not listed: they administer every team)."""
    return get_user_model().objects.filter(memberships__team_id=team_id, memberships__is_team_admin=True).distinct()
