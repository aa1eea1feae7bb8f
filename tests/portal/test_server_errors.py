"""A database outage is a 503 with Retry-After, in the API's error shape under /api/ and a styled page
elsewhere; any other failure a 500 in the same two forms (the API answered Django's HTML page)."""

import pytest
from django.db import OperationalError

from scheduler import access
from tests.actors import api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_gone(monkeypatch):
    def unreachable(user):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(access, "jobs_visible_to", unreachable)


def test_the_api_answers_503_in_its_error_shape_during_a_database_outage(researcher, database_gone):
    client = api_client_for(researcher)
    client.raise_request_exception = False
    response = client.get("/api/v1/jobs/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "detail": "The database is unreachable for a moment; nothing was changed. Try again shortly.",
        "errors": {},
    }


def test_a_page_answers_a_styled_503_during_a_database_outage(client, researcher, database_gone):
    client.force_login(researcher)
    client.raise_request_exception = False
    response = client.get("/jobs/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "Temporarily unavailable" in response.content.decode()


def test_any_other_api_failure_is_a_500_in_the_error_shape(researcher, monkeypatch):
    def broken(user):
        raise RuntimeError("a bug")

    monkeypatch.setattr(access, "jobs_visible_to", broken)
    client = api_client_for(researcher)
    client.raise_request_exception = False
    response = client.get("/api/v1/jobs/")
    assert response.status_code == 500
    assert response.json()["detail"] == "The portal could not answer this request; nothing was changed by it."
