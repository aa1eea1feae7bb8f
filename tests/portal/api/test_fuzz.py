"""The API under a schema-driven fuzzer: schemathesis over the committed docs/openapi.yaml against a live
server (pytest-django's, WSGI), every operation with every parameter, valid and invalid input alike:
no answer ≥ 500, every 4xx in the error shape (docs/decisions.md §3); and the core endpoints' answers
match the schema. Derandomized (the `ci` hypothesis profile, tests/conftest.py), ATELIER_FUZZ_EXAMPLES
examples per operation (docs/testing.md "The fuzz test")."""

import os
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml"
EXAMPLES = int(os.environ.get("ATELIER_FUZZ_EXAMPLES", "6"))
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, suppress_health_check=list(HealthCheck), deadline=None)

schema = schemathesis.openapi.from_path(str(SCHEMA_PATH))
core = schema.include(path_regex=r"^/api/v1/(jobs|bookings|datasets)/")


@pytest.fixture
def fuzzer(transactional_db, team_a):
    """A site admin who holds every role in team A, with a token: no operation is closed to them."""
    from portal.accounts.services import api_token_create
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory(username="fuzzer", is_staff=True, is_superuser=True)
    roles = dict(is_team_admin=True, is_researcher=True, is_annotator=True, is_reviewer=True)
    MembershipFactory(team=team_a, user=user, **roles)
    _token, secret = api_token_create(user=user, name="fuzzer", expires_in_days=30)
    return {"Authorization": f"Token {secret}"}


def assert_no_failure(response):
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        body = response.json()  # never Django's HTML page
        assert isinstance(body.get("detail"), str) and isinstance(body.get("errors"), dict), body
        assert "ErrorDetail(" not in response.text, body


@pytest.fixture
def still_signed_in(live_server, fuzzer):
    yield
    # The fuzzer never revokes its own token nor deletes its user (no operation may do that to a caller).
    assert requests.get(f"{live_server.url}/api/v1/me/", headers=fuzzer, timeout=10).status_code == 200


@schema.parametrize()
@FUZZ_SETTINGS
def test_no_input_makes_the_api_fail(case, live_server, fuzzer, still_signed_in):
    assert_no_failure(case.call(base_url=live_server.url, headers=fuzzer))


@core.parametrize()
@FUZZ_SETTINGS
def test_core_answers_match_the_schema(case, live_server, fuzzer):
    response = case.call(base_url=live_server.url, headers=fuzzer)
    assert_no_failure(response)
    if case.method.upper() != case.operation.method.upper():
        return  # schemathesis also probes methods the path does not offer: a 405, checked above
    documented = case.operation.definition.raw["responses"]
    assert str(response.status_code) in documented, (response.status_code, sorted(documented), response.text[:300])
    case.operation.validate_response(response)
