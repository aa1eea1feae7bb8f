"""Team operations. Every write to teams, memberships and quota limits goes through here."""

from django.db import transaction
from django.utils.text import slugify

from portal.teams.models import Membership, Role, Team, TeamQuota


@transaction.atomic
def team_create(*, name: str, slug: str | None = None) -> Team:
    team = Team.objects.create(name=name, slug=slug or slugify(name))
    TeamQuota.objects.create(team=team)
    return team


def membership_set(*, team: Team, user, roles: set[Role]) -> Membership:
    """Give a user exactly these roles in a team (creating the membership if needed)."""
    flags = {f"is_{role.value}": role in roles for role in Role}
    membership, _ = Membership.objects.update_or_create(team=team, user=user, defaults=flags)
    return membership


def quota_of(*, team: Team) -> TeamQuota:
    quota, _ = TeamQuota.objects.get_or_create(team=team)
    return quota


def quota_update(*, team: Team, **limits) -> TeamQuota:
    quota = quota_of(team=team)
    for field, value in limits.items():
        setattr(quota, field, value)
    quota.full_clean()
    quota.save()
    return quota
