"""The API under a schema-driven fuzzer (schemathesis over docs/openapi.yaml) against a live server:
every operation, every parameter, no answer ≥ 500 and every 4xx in the error shape
(docs/decisions.md §3, docs/testing.md "The fuzz test")."""

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml"
EXAMPLES_PER_OPERATION = 25

schema = schemathesis.openapi.from_path(str(SCHEMA_PATH))


@pytest.fixture
def fuzz_actor(transactional_db, team_a):
    """A site admin who is also team A's admin and researcher, holding a token: every operation is open to them."""
    from portal.accounts.services import api_token_create
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory(username="fuzzer", is_staff=True, is_superuser=True)
    MembershipFactory(
        team=team_a, user=user, is_team_admin=True, is_researcher=True, is_annotator=True, is_reviewer=True
    )
    _token, secret = api_token_create(user=user, name="fuzzer", expires_in_days=30)
    return {"Authorization": f"Token {secret}"}


def assert_error_shape(response):
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body.get("detail"), str) and isinstance(body.get("errors"), dict), body


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, suppress_health_check=list(HealthCheck), deadline=None, derandomize=True)
def test_no_input_makes_the_api_fail(case, live_server, fuzz_actor):
    response = case.call(base_url=live_server.url, headers=fuzz_actor)
    assert response.status_code < 500, response.text[:500]
    assert_error_shape(response)
