"""Team operations. Every write to teams, memberships and quota limits goes through here; each change of
roles, membership or quota is written to the audit log in the same transaction (docs/reports.md)."""

from django.db import transaction
from django.utils.text import slugify

from portal.audit.models import AuditEntry
from portal.audit.services import audit_record
from portal.teams.models import Membership, Role, Team, TeamQuota

QUOTA_FIELDS = (
    "gpu_hours_per_month",
    "max_concurrent_gpus",
    "max_booking_hours",
    "booking_horizon_days",
    "guaranteed_gpus",
    "borrow_limit_hours",
)


@transaction.atomic
def team_create(*, name: str, slug: str | None = None) -> Team:
    team = Team.objects.create(name=name, slug=slug or slugify(name))
    TeamQuota.objects.create(team=team)
    return team


def _roles_of(membership: Membership | None) -> list[str]:
    if membership is None:
        return []
    return sorted(role.value for role in Role if getattr(membership, f"is_{role.value}"))


@transaction.atomic
def membership_set(*, team: Team, user, roles: set[Role], by=None) -> Membership:
    """Give a user exactly these roles in a team (creating the membership if needed). `by` is who did
    it (None: the system, such as the demo seed); a change is audited."""
    before = _roles_of(Membership.objects.select_for_update().filter(team=team, user=user).first())
    flags = {f"is_{role.value}": role in roles for role in Role}
    membership, _ = Membership.objects.update_or_create(team=team, user=user, defaults=flags)
    after = _roles_of(membership)
    if before != after:
        audit_record(
            actor=by,
            action=AuditEntry.Action.MEMBERSHIP_CHANGE,
            team=team,
            target_type="membership",
            target_id=membership.pk,
            target=f"{user.username} in {team.name}",
            before={"roles": before},
            after={"roles": after},
        )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, by=None) -> None:
    """Take a user out of a team; audited with the roles they held."""
    audit_record(
        actor=by,
        action=AuditEntry.Action.MEMBERSHIP_REMOVE,
        team=membership.team,
        target_type="membership",
        target_id=membership.pk,
        target=f"{membership.user.username} in {membership.team.name}",
        before={"roles": _roles_of(membership)},
        after=None,
    )
    membership.delete()


def quota_of(*, team: Team) -> TeamQuota:
    quota, _ = TeamQuota.objects.get_or_create(team=team)
    return quota


def _limits(quota: TeamQuota) -> dict:
    return {field: getattr(quota, field) for field in QUOTA_FIELDS}


@transaction.atomic
def quota_update(*, team: Team, by=None, **limits) -> TeamQuota:
    """Change a team's limits; the fields that changed are audited, before → after."""
    quota_of(team=team)
    quota = TeamQuota.objects.select_for_update().get(team=team)
    before = _limits(quota)
    for field, value in limits.items():
        setattr(quota, field, value)
    quota.full_clean()
    quota.save()
    after = _limits(quota)
    changed = sorted(field for field in after if after[field] != before.get(field))
    if changed:
        audit_record(
            actor=by,
            action=AuditEntry.Action.QUOTA_CHANGE,
            team=team,
            target_type="team_quota",
            target_id=quota.pk,
            target=f"quota of {team.name}",
            before={field: before[field] for field in changed},
            after={field: after[field] for field in changed},
        )
    return quota
