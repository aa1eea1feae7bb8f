"""Past the connection pool's bound a request waits the pool's timeout, then answers 503 with Retry-After
(the API's error shape under /api/, the styled page elsewhere), never a 500 (portal/settings.py
"Database", docs/configuration.md "Database connections")."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import Client

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        "connection.vendor != 'postgresql'", reason="embedded mode opens SQLite files: there is no pool to exhaust"
    ),
]

TINY_POOL = {"min_size": 0, "max_size": 1, "timeout": 0.3}


@pytest.fixture
def exhausted_pool():
    """This process's pool swapped for one of a single connection, taken for the test's length. The test's
    own connection (its transaction) stays in the real pool; requests run in another thread get none."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    pools, options = type(wrapper)._connection_pools, wrapper.settings_dict["OPTIONS"]
    real_options, real_pool = options["pool"], pools.pop(DEFAULT_DB_ALIAS)
    options["pool"] = TINY_POOL
    tiny = wrapper.pool  # built from TINY_POOL on first use
    tiny.open()
    held = tiny.getconn()
    try:
        yield
    finally:
        tiny.putconn(held)
        tiny.close()
        options["pool"] = real_options
        pools[DEFAULT_DB_ALIAS] = real_pool


def _in_another_thread(call):
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(call).result()


def test_settings_bound_the_pool_and_keep_no_persistent_connection():
    pool = connection.settings_dict["OPTIONS"]["pool"]
    assert pool["max_size"] == settings.DB_POOL_MAX_SIZE > 0
    assert pool["timeout"] > 0
    assert connection.settings_dict["CONN_MAX_AGE"] == 0


def test_an_api_call_past_the_bound_answers_503_in_the_error_shape(exhausted_pool):
    client = Client(raise_request_exception=False)
    response = _in_another_thread(lambda: client.get("/api/v1/me/", HTTP_AUTHORIZATION="Token " + "a" * 64))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "detail": "The portal is answering as many requests as it can; nothing was changed. Try again shortly.",
        "errors": {},
    }


def test_a_page_past_the_bound_answers_a_styled_503(exhausted_pool):
    client = Client(raise_request_exception=False)
    client.cookies[settings.SESSION_COOKIE_NAME] = "a" * 32  # the session is read from the database
    response = _in_another_thread(lambda: client.get("/jobs/"))
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "answering as many requests as it can" in response.content.decode()
