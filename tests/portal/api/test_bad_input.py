"""Bad input is a 4xx in the error shape naming the parameter, never a 500 nor Django's HTML
(portal/inputs.py, portal/api/errors.py, portal/views.py; docs/security.md "Input")."""

import json

import pytest
from django.conf import settings

from portal.inputs import NAIVE_INSTANT, NOT_A_MONTH, NOT_AN_INSTANT, NUL_BYTE, OUT_OF_RANGE_YEAR, TOO_DEEP
from portal.views import NOT_FOUND
from tests.actors import api_client_for
from tests.scheduler.fleet.readings import make_gpu

pytestmark = pytest.mark.django_db


def assert_refused(response, status: int, field: str | None = None, message: str | None = None) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and isinstance(body["errors"], dict), body
    if field is not None:
        assert list(body["errors"]) == [field], body
    if message is not None:
        assert body["errors"][field] == [message], body
    return body


@pytest.fixture
def gpu(db):
    return make_gpu(node_name="probe", index=0)


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"start": "2026-11-02T09:61:00+00:00"}, "start", NOT_AN_INSTANT),
        ({"end": "2026-11-02T24:00:00+00:00"}, "end", NOT_AN_INSTANT),
        ({"start": "0001-01-01T00:00:00+00:00"}, "start", OUT_OF_RANGE_YEAR),
        ({"end": "0001-01-01T00:30:00+00:00"}, "end", OUT_OF_RANGE_YEAR),
        ({"end": "9999-12-31T23:59:59+00:00"}, "end", OUT_OF_RANGE_YEAR),
        ({"end": "2026-11-02T09:00:00"}, "end", NAIVE_INSTANT),
        ({"step": "9" * 30}, "step", None),
        ({"step": "9" * 400}, "step", None),
    ],
)
def test_metrics_refuse_impossible_instants_and_steps(researcher, gpu, params, field, message):
    response = api_client_for(researcher).get(f"/api/v1/gpus/{gpu.id}/metrics/", params)
    assert_refused(response, 400, field, message)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"duration": "PT8H", "after": "9999-12-31T23:00:00+00:00"}, "after"),
        ({"duration": "PT8H", "after": "0001-01-01T00:00:00+00:00"}, "after"),
        ({"duration": "9" * 30}, "duration"),
        ({"duration": "P99999999D"}, "duration"),
        ({"duration": "PT8H", "gpus": "9" * 30}, "gpus"),
        ({"duration": "PT8H", "min_memory_mb": "9" * 30}, "min_memory_mb"),
        ({"duration": "PT8H", "gpu_ids": "9" * 30}, "gpu_ids"),
    ],
)
def test_availability_refuses_out_of_range_input(researcher, gpu, params, field):
    assert_refused(api_client_for(researcher).get("/api/v1/availability/", params), 400, field)


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "2026-13", "soon"])
def test_quota_report_and_usage_refuse_months_out_of_range(admin, team_a, month):
    client = api_client_for(admin)
    message = NOT_A_MONTH if month in ("2026-13", "soon") else OUT_OF_RANGE_YEAR
    assert_refused(client.get("/api/v1/reports/quotas/", {"month": month}), 400, "month", message)
    assert_refused(client.get(f"/api/v1/teams/{team_a.id}/quota/usage/", {"month": month}), 400, "month", message)


def test_the_quota_report_page_refuses_a_month_out_of_range_naming_it(client, admin, team_a):
    client.force_login(admin)
    response = client.get("/reports/quotas/", {"month": "9999-12"})
    assert response.status_code == 400
    assert f"month: {OUT_OF_RANGE_YEAR}" in response.content.decode()


def test_json_nested_too_deep_is_a_400(researcher):
    body = "[" * 1000 + "]" * 1000
    response = api_client_for(researcher).post("/api/v1/bookings/", body, content_type="application/json")
    assert TOO_DEEP in assert_refused(response, 400)["detail"]


def test_json_nested_within_the_limit_reaches_the_serializer(researcher):
    body = json.dumps({"note": [[[["x"]]]]})
    response = api_client_for(researcher).post("/api/v1/bookings/", body, content_type="application/json")
    assert "note" in assert_refused(response, 400)["errors"]


@pytest.mark.parametrize("url", ["/api/v1/jobs/", "/api/v1/bookings/", "/api/v1/gpus/", "/api/v1/tasks/"])
def test_a_nul_byte_in_a_query_parameter_is_a_400_naming_it(researcher, url):
    response = api_client_for(researcher).get(url, {"node": "a\x00b", "state": "x"})
    assert_refused(response, 400, "node", NUL_BYTE)


@pytest.mark.parametrize("url", ["/jobs/", "/bookings/", "/gpus/", "/labeling/", "/label/", "/reports/quotas/"])
def test_a_nul_byte_in_a_page_query_is_a_400_page(client, admin, url):
    client.force_login(admin)
    response = client.get(url, {"user": "\x00"})
    assert response.status_code == 400
    assert b"NUL byte" in response.content


@pytest.mark.parametrize("url", ["/api/v1/jobs/abc/", "/api/v1/datasets/1.5/items/", "/api/v1/no-such-thing/"])
def test_unknown_routes_and_malformed_ids_are_json_404s(researcher, url):
    assert assert_refused(api_client_for(researcher).get(url), 404) == {"detail": NOT_FOUND, "errors": {}}


def test_a_body_past_the_upload_limit_is_a_413_with_the_limit(researcher):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = json.dumps({"note": "x" * (limit + 1)})
    response = api_client_for(researcher).post("/api/v1/bookings/", body, content_type="application/json")
    assert assert_refused(response, 413)["limit"] == limit


def test_a_malformed_multipart_body_is_a_400_in_the_shape(researcher):
    response = api_client_for(researcher).post(
        "/api/v1/datasets/", b"--x\r\nnot a part", content_type="multipart/form-data; boundary=\x00"
    )
    assert_refused(response, 400)


def test_a_list_items_error_names_its_position_not_a_python_repr(researcher):
    response = api_client_for(researcher).post("/api/v1/bookings/", {"gpu_ids": ["x"]}, format="json")
    body = assert_refused(response, 400)
    assert body["errors"]["gpu_ids"] == ["0: Give a whole number."]
    assert "ErrorDetail" not in json.dumps(body)


@pytest.mark.parametrize(
    "url", ["/api/v1/tasks/1/annotation/", "/api/v1/jobs/1/", "/api/v1/bookings/", "/api/v1/datasets/1/items/"]
)
def test_options_answers_without_a_server_error(researcher, url):
    assert api_client_for(researcher).options(url).status_code == 200
