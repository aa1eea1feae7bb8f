from django.contrib.auth import get_user_model
from django.urls import reverse

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
    response = client.post(reverse("login"), {"username": "researcher", "password": DEMO_PASSWORD})
    assert response.status_code == 302  # through the login page: its lockout check needs the request
    assert get_user_model().objects.get(username="admin").is_staff
