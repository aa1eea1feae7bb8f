"""Login, personal tokens (shown once, hashed, revocable) and CSRF on session writes."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from portal.accounts.api import TOKEN_NEEDS_SESSION
from portal.accounts.models import ApiToken
from portal.accounts.services import TOKEN_NAME_TAKEN
from tests.factories import PASSWORD


def test_the_login_page_signs_a_person_in(client, researcher):
    response = client.post(reverse("login"), {"username": "researcher", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("profile")).status_code == 200


def test_a_wrong_password_is_refused_with_a_message(client, researcher):
    response = client.post(reverse("login"), {"username": "researcher", "password": "nope"})
    assert response.status_code == 200
    assert b"did not match" in response.content


def test_pages_send_anonymous_visitors_to_the_login(client, db):
    response = client.get(reverse("jobs"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_api_refuses_anonymous_requests(db):
    response = APIClient().get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided.", "errors": {}}


def create_token(user, name="laptop"):
    client = APIClient()
    client.force_authenticate(user)
    return client.post("/api/v1/tokens/", {"name": name, "expires_in_days": 30}, format="json")


def test_a_token_is_shown_once_and_stored_hashed(researcher):
    response = create_token(researcher)
    assert response.status_code == 201
    secret = response.json()["token"]
    assert secret.startswith("atl_")
    stored = ApiToken.objects.get(user=researcher)
    assert secret not in (stored.digest, stored.token_key)
    listing = APIClient()
    listing.force_authenticate(researcher)
    assert "token" not in listing.get("/api/v1/tokens/").json()["results"][0]


def test_a_token_authenticates_api_calls(researcher):
    secret = create_token(researcher).json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "researcher"
    assert ApiToken.objects.get(user=researcher).last_used_at is not None


def test_a_revoked_token_stops_working(researcher):
    created = create_token(researcher).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {created['token']}")
    assert client.delete(f"/api/v1/tokens/{created['key']}/").status_code == 204
    assert client.get("/api/v1/me/").status_code == 401


def test_token_names_are_unique_per_person(researcher):
    create_token(researcher, "ci")
    response = create_token(researcher, "ci")
    assert response.status_code == 400
    assert response.json()["errors"] == {"name": [TOKEN_NAME_TAKEN]}


def test_a_session_write_without_the_csrf_token_is_refused(researcher):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(researcher)
    response = client.post("/api/v1/tokens/", {"name": "x"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_a_session_write_with_the_csrf_token_is_accepted(researcher):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(researcher)
    client.get(reverse("profile"))
    token = client.cookies["csrftoken"].value
    response = client.post("/api/v1/tokens/", {"name": "x"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201


def test_the_profile_page_creates_and_revokes_tokens(client, researcher):
    client.force_login(researcher)
    page = client.post(reverse("profile"), {"action": "token", "name": "browser", "expires_in_days": "7"})
    token = ApiToken.objects.get(user=researcher, name="browser")
    assert b"atl_" in page.content and b"shown only once" in page.content
    client.post(reverse("token-revoke", args=[token.token_key]))
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_a_token_without_a_chosen_lifetime_gets_the_site_maximum(researcher, settings):
    settings.API_TOKEN_MAX_DAYS = 30
    client = APIClient()
    client.force_authenticate(researcher)
    response = client.post("/api/v1/tokens/", {"name": "ci"}, format="json")
    assert response.status_code == 201
    lifetime = ApiToken.objects.get(user=researcher).expiry - timezone.now()
    assert timedelta(days=29, hours=23) < lifetime <= timedelta(days=30)


@pytest.mark.parametrize("days", [None, 0, 91, 100000])
def test_a_token_that_never_expires_or_outlives_the_maximum_is_refused(researcher, days):
    client = APIClient()
    client.force_authenticate(researcher)
    response = client.post("/api/v1/tokens/", {"name": "forever", "expires_in_days": days}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["expires_in_days"]
    assert not ApiToken.objects.exists()


def test_a_token_cannot_create_tokens(researcher):
    secret = create_token(researcher).json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    response = client.post("/api/v1/tokens/", {"name": "child", "expires_in_days": 1}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": TOKEN_NEEDS_SESSION, "errors": {}}
    assert ApiToken.objects.filter(user=researcher).count() == 1


def test_the_profile_page_gives_a_token_without_a_lifetime_the_maximum(client, researcher):
    client.force_login(researcher)
    client.post(reverse("profile"), {"action": "token", "name": "browser", "expires_in_days": ""})
    lifetime = ApiToken.objects.get(user=researcher).expiry - timezone.now()
    assert timedelta(days=89) < lifetime <= timedelta(days=90)
