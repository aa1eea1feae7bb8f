"""Demo data for `make run`: idempotent, so a second run changes and duplicates nothing."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.dispatch import Signal

from portal.teams.models import Role, Team
from portal.teams.services import membership_set, team_create

DEMO_PASSWORD = "atelier-demo"

# Sent after the people and teams exist; the scheduler and labeling apps add their own demo data
# (portal never imports them: dependencies point into portal, docs/decisions.md §1).
demo_seeded = Signal()


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    team: str
    roles: frozenset[Role]
    staff: bool = False


DEMO_TEAMS = ("Vision", "Story")
DEMO_USERS = (
    DemoUser("researcher", "Rea Searcher", "Vision", frozenset({Role.RESEARCHER})),
    DemoUser("annotator", "Ann Otator", "Vision", frozenset({Role.ANNOTATOR})),
    DemoUser("reviewer", "Rev Iewer", "Vision", frozenset({Role.REVIEWER, Role.ANNOTATOR})),
    DemoUser("lead", "Lee Dteam", "Vision", frozenset({Role.TEAM_ADMIN, Role.RESEARCHER})),
    DemoUser("storyteller", "Sto Ryteller", "Story", frozenset({Role.RESEARCHER})),
    DemoUser("admin", "Site Admin", "Vision", frozenset(), staff=True),
)


@transaction.atomic
def demo_seed() -> list[DemoUser]:
    teams = {name: Team.objects.filter(name=name).first() or team_create(name=name) for name in DEMO_TEAMS}
    for demo in DEMO_USERS:
        user = _demo_user(demo)
        if demo.roles:
            membership_set(team=teams[demo.team], user=user, roles=set(demo.roles))
    demo_seeded.send(sender=DemoUser)
    return list(DEMO_USERS)


def _demo_user(demo: DemoUser):
    first, last = demo.full_name.split(" ", 1)
    user, created = get_user_model().objects.get_or_create(
        username=demo.username,
        defaults={"first_name": first, "last_name": last, "is_staff": demo.staff, "is_superuser": demo.staff},
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    return user
