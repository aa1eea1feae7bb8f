"""What services and guards raise (Django's ValidationError, PermissionDenied, Http404 and portal.errors)
is translated once for the API, into its error shape (docs/decisions.md §3), and once for pages, into a
styled page with the same status; never a 500."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from portal.errors import Conflict, Invalid, PreconditionFailed, PreconditionRequired
from scheduler import access
from tests.actors import api_client_for

pytestmark = pytest.mark.django_db

REFUSALS = {
    "field errors": (ValidationError({"gpus": ["Ask for at least one GPU."]}), 400),
    "errors of no field": (ValidationError(["The dataset has no items.", "Nothing to freeze."]), 400),
    "over a limit": (Invalid({"file": ["The file is 9 bytes; the limit is 5 bytes."]}, status=413, limit=5), 413),
    "a conflict": (Conflict("The GPUs are taken.", conflicts=[{"gpu": 1}], suggestions=[]), 409),
    "a stale version": (PreconditionFailed("Someone saved.", current={"version": 3}), 412),
    "no If-Match": (PreconditionRequired(), 428),
    "not allowed": (PermissionDenied("Only the owner."), 403),
    "not visible": (Http404("No such job."), 404),
}
API_BODIES = {
    "field errors": {"detail": "gpus: Ask for at least one GPU.", "errors": {"gpus": ["Ask for at least one GPU."]}},
    "errors of no field": {
        "detail": "The dataset has no items.",
        "errors": {"non_field_errors": ["The dataset has no items.", "Nothing to freeze."]},
    },
    "over a limit": {
        "detail": "file: The file is 9 bytes; the limit is 5 bytes.",
        "errors": {"file": ["The file is 9 bytes; the limit is 5 bytes."]},
        "limit": 5,
    },
    "a conflict": {"detail": "The GPUs are taken.", "errors": {}, "conflicts": [{"gpu": 1}], "suggestions": []},
    "a stale version": {"detail": "Someone saved.", "errors": {}, "current": {"version": 3}},
    "no If-Match": {"detail": "Send If-Match with the version you edited.", "errors": {}},
    "not allowed": {"detail": "Only the owner.", "errors": {}},
    "not visible": {"detail": "No such job.", "errors": {}},
}


@pytest.fixture
def refusing(monkeypatch):
    """The jobs list's guard raises the refusal asked for: the API and the page meet it the same way."""

    def refuse(name):
        def guard(user):
            raise REFUSALS[name][0]

        monkeypatch.setattr(access, "jobs_visible_to", guard)

    return refuse


@pytest.mark.parametrize("name", list(REFUSALS))
def test_the_api_answers_each_refusal_in_its_error_shape(researcher, refusing, name):
    refusing(name)
    response = api_client_for(researcher).get("/api/v1/jobs/")
    assert response.status_code == REFUSALS[name][1]
    assert response.json() == API_BODIES[name]


@pytest.mark.parametrize("name", list(REFUSALS))
def test_a_page_answers_each_refusal_with_a_styled_page(client, researcher, refusing, name):
    refusing(name)
    client.force_login(researcher)
    response = client.get("/jobs/")
    assert response.status_code == REFUSALS[name][1]
    html = response.content.decode()
    assert 'class="mainnav"' in html  # in the site's frame
    if name != "not visible":  # the 404 page says nothing of what is there
        assert API_BODIES[name]["detail"].split(": ")[-1] in html
