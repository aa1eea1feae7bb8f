from django.contrib.auth import get_user_model

from portal.demo import DEMO_PASSWORD, DEMO_USERS, demo_seed
from portal.teams.models import Membership, Team


def test_seeding_twice_duplicates_nothing(db):
    demo_seed()
    counts = (get_user_model().objects.count(), Team.objects.count(), Membership.objects.count())
    demo_seed()
    assert (get_user_model().objects.count(), Team.objects.count(), Membership.objects.count()) == counts
    assert counts[0] == len(DEMO_USERS)


def test_demo_logins_work(client, db):
    demo_seed()
    assert client.login(username="researcher", password=DEMO_PASSWORD)
    assert get_user_model().objects.get(username="admin").is_staff
