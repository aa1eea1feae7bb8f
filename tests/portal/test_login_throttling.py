"""Login throttling (django-axes): failures counted per account and per address, on the site's login
and the admin's; a lockout is a 429 page with a clear message, lifted by the cool-off or by an admin."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from portal.views import LOGIN_LOCKED
from tests.factories import PASSWORD, UserFactory

LIMIT = 3


@pytest.fixture(autouse=True)
def low_failure_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT


def log_in(client, username, password, *, address="203.0.113.7", url=None):
    return client.post(url or reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username, times, **where):
    for _ in range(times):
        log_in(client, username, "wrong", **where)


def test_the_right_password_after_too_many_wrong_ones_is_refused_with_a_clear_message(client, researcher):
    fail(client, "researcher", LIMIT)
    response = log_in(client, "researcher", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert int(response["Retry-After"]) == 15 * 60
    assert "_auth_user_id" not in client.session


def test_fewer_failures_than_the_limit_still_let_the_person_in(client, researcher):
    fail(client, "researcher", LIMIT - 1)
    assert log_in(client, "researcher", PASSWORD).status_code == 302


def test_logging_in_to_ones_own_account_does_not_reset_the_count_of_guesses_at_another(client, researcher, outsider):
    fail(client, "researcher", LIMIT - 1)
    assert log_in(client, "outsider", PASSWORD).status_code == 302
    client.logout()
    fail(client, "researcher", 1)
    assert log_in(client, "researcher", PASSWORD, address="192.0.2.50").status_code == 429


def test_an_account_is_locked_whatever_address_the_attempts_come_from(client, researcher):
    for number in range(LIMIT):
        log_in(client, "researcher", "wrong", address=f"198.51.100.{number + 1}")
    assert log_in(client, "researcher", PASSWORD, address="192.0.2.50").status_code == 429


def test_an_address_is_locked_whatever_accounts_it_tries(client, researcher):
    for number in range(LIMIT):
        log_in(client, f"guess{number}", "wrong", address="203.0.113.9")
    assert log_in(client, "researcher", PASSWORD, address="203.0.113.9").status_code == 429
    assert log_in(client, "researcher", PASSWORD, address="203.0.113.10").status_code == 302


def test_the_admin_login_is_throttled_too(client, admin):
    url = reverse("admin:login")
    for _ in range(LIMIT):
        log_in(client, "admin", "wrong", url=url)
    response = log_in(client, "admin", PASSWORD, url=url)
    assert response.status_code == 429
    assert LOGIN_LOCKED.split(":")[0] in response.content.decode()


def test_an_admin_unlocks_an_account(client, researcher):
    fail(client, "researcher", LIMIT, address="198.51.100.1")
    site_admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    admin_client = type(client)()
    admin_client.force_login(site_admin)
    response = admin_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "unlock_login", "_selected_action": [researcher.pk]},
    )
    assert response.status_code == 302
    assert log_in(client, "researcher", PASSWORD, address="198.51.100.2").status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, researcher):
    fail(client, "researcher", LIMIT)
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16))
    assert log_in(client, "researcher", PASSWORD).status_code == 302


def test_the_session_key_changes_at_login(client, researcher):
    session = client.session
    session["visited"] = True
    session.save()
    before = session.session_key
    client.cookies["sessionid"] = before
    assert log_in(client, "researcher", PASSWORD).status_code == 302
    after = client.cookies["sessionid"].value
    assert after != before
    assert not type(session)().exists(before)
