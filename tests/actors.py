"""Named actors shared by every test: team A's researcher, annotator, reviewer and team admin, a
site admin, and an outsider who belongs to team B only."""

import pytest

# Factories import models: they are imported inside the fixtures so that pure tests (the policy, the
# GPU backends) still run under `pytest -p no:django`.


@pytest.fixture
def team_a(db):
    from tests.factories import TeamFactory

    return TeamFactory(name="Team A")


@pytest.fixture
def team_b(db):
    from tests.factories import TeamFactory

    return TeamFactory(name="Team B")


@pytest.fixture
def researcher(team_a):
    return _member(team=team_a, user=_user("researcher"), is_researcher=True).user


@pytest.fixture
def annotator(team_a):
    return _member(team=team_a, user=_user("annotator"), is_annotator=True).user


@pytest.fixture
def reviewer(team_a):
    return _member(team=team_a, user=_user("reviewer"), is_reviewer=True, is_annotator=True).user


@pytest.fixture
def team_admin(team_a):
    return _member(team=team_a, user=_user("lead"), is_team_admin=True, is_researcher=True).user


@pytest.fixture
def admin(db):
    from tests.factories import UserFactory

    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def outsider(team_b):
    return _member(team=team_b, user=_user("outsider"), is_researcher=True).user


def _user(username):
    from tests.factories import UserFactory

    return UserFactory(username=username)


def _member(*, team, user, **roles):
    from tests.factories import MembershipFactory

    return MembershipFactory(team=team, user=user, **roles)


def api_client_for(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client
