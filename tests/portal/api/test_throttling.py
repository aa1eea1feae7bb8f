"""API rate limits: per token (a session counts as one) and per anonymous address; past them a 429 in
the contract's error shape with Retry-After. tests/testenv.py sets them high; these tests lower them."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from portal.accounts.services import api_token_create


@pytest.fixture(autouse=True)
def low_rates(settings):
    cache.clear()  # the throttles' counts live in the process's cache
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {
        "DEFAULT_THROTTLE_RATES": {"token": "3/minute", "anonymous": "2/minute"}
    }
    yield
    cache.clear()


def token_client(user, name):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user, name=name, expires_in_days=1)[1]}")
    return client


def test_a_token_past_its_rate_gets_429_with_retry_after_in_the_error_shape(researcher):
    client = token_client(researcher, "script")
    assert [client.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 200]
    response = client.get("/api/v1/me/")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    body = response.json()
    assert set(body) == {"detail", "errors"} and body["errors"] == {}
    assert "throttled" in body["detail"]


def test_each_token_has_its_own_budget(researcher):
    first, second = token_client(researcher, "one"), token_client(researcher, "two")
    for _ in range(3):
        first.get("/api/v1/me/")
    assert first.get("/api/v1/me/").status_code == 429
    assert second.get("/api/v1/me/").status_code == 200


def test_a_browser_session_has_a_budget_too(client, researcher):
    client.force_login(researcher)
    assert [client.get("/api/v1/me/").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_anonymous_calls_are_counted_per_address(db):
    client = APIClient()
    codes = [client.get("/api/v1/me/", REMOTE_ADDR="203.0.113.5").status_code for _ in range(3)]
    assert codes == [401, 401, 429]
    assert client.get("/api/v1/me/", REMOTE_ADDR="203.0.113.6").status_code == 401


def test_an_anonymous_client_cannot_escape_its_budget_by_writing_x_forwarded_for(db):
    client = APIClient()
    codes = [
        client.get("/api/v1/me/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code
        for n in range(3)
    ]
    assert codes == [401, 401, 429]


def test_bad_tokens_count_against_the_address(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token atl_" + "0" * 64)
    codes = [client.get("/api/v1/me/", REMOTE_ADDR="203.0.113.8").status_code for _ in range(3)]
    assert codes == [401, 401, 429]
