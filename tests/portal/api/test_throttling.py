"""API rate limits: per token (a session counts as one) and per anonymous address; past them a 429 in
the contract's error shape with Retry-After. tests/testenv.py sets them high; these tests lower them."""

import os
import pickle

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from redis import Redis
from rest_framework.test import APIClient

from portal.accounts.models import ApiToken
from portal.accounts.services import api_token_create

IN_REDIS = bool(os.environ.get("REDIS_URL"))


def forget_counts():
    """The throttles' counts live in the cache; in Redis only this run's keys go (clear() would flush
    the whole database, other runs' included)."""
    if not IN_REDIS:
        cache.clear()
        return
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(match=f"{cache.key_prefix}:*"):
        client.delete(key)


@pytest.fixture(autouse=True)
def low_rates(settings):
    forget_counts()
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {
        "DEFAULT_THROTTLE_RATES": {"token": "3/minute", "anonymous": "2/minute"}
    }
    yield
    forget_counts()


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


@pytest.mark.skipif(not IN_REDIS, reason="service mode: the counts live in Redis, shared by every web process")
def test_the_counts_live_in_redis_where_every_web_process_sees_them(researcher):
    client = token_client(researcher, "shared")
    for _ in range(2):
        client.get("/api/v1/me/")
    token_id = ApiToken.objects.get(user=researcher, name="shared").pk
    redis = Redis.from_url(os.environ["REDIS_URL"])  # what any other process reads
    stored = redis.keys(f"{settings.CACHES['default']['KEY_PREFIX']}:*:throttle_token_token-{token_id}")
    assert len(stored) == 1
    assert len(pickle.loads(redis.get(stored[0]))) == 2  # noqa: S301 (our own cache entry)


@pytest.mark.skipif(not IN_REDIS, reason="service mode: embedded mode keeps the counts in memory")
def test_with_redis_out_of_reach_the_api_answers_unthrottled(researcher):
    client = token_client(researcher, "outage")
    nothing_listens = {"default": settings.CACHES["default"] | {"LOCATION": "redis://127.0.0.1:9/0"}}
    with override_settings(CACHES=nothing_listens):
        assert [client.get("/api/v1/me/").status_code for _ in range(5)] == [200] * 5
