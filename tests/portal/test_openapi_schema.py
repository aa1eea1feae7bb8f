"""The committed OpenAPI schema (docs/openapi.yaml) matches the code, and validates without warnings."""

import os
import subprocess
import sys

from tests.stack import ROOT

REGENERATE = "make schema"


def generate_schema(tmp_path) -> str:
    """Generated with the embedded settings: integer bounds in the schema depend on the database backend."""
    out = tmp_path / "openapi.yaml"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"ATELIER_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--file", str(out), "--validate", "--fail-on-warn"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out.read_text()


def test_the_committed_schema_matches_the_code(tmp_path):
    committed = (ROOT / "docs" / "openapi.yaml").read_text()
    assert generate_schema(tmp_path) == committed, f"docs/openapi.yaml is stale: run `{REGENERATE}` and commit it"


def test_swagger_ui_is_served_without_a_cdn(admin_client):
    page = admin_client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower()


def committed_schema() -> dict:
    import yaml

    return yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())


def test_instants_in_parameters_and_bodies_are_date_times():
    document = committed_schema()
    availability = document["paths"]["/api/v1/availability/"]["get"]["parameters"]
    assert next(p for p in availability if p["name"] == "after")["schema"]["format"] == "date-time"
    booking = document["components"]["schemas"]["BookingCreateRequest"]["properties"]
    assert booking["start"]["format"] == booking["end"]["format"] == "date-time"


def test_nullability_and_pagination_are_as_served():
    document = committed_schema()
    assert document["components"]["schemas"]["Task"]["properties"]["assignee_username"]["nullable"] is True
    exports = document["paths"]["/api/v1/versions/{id}/exports/"]["get"]["responses"]["200"]
    assert exports["content"]["application/json"]["schema"]["type"] == "array"
    assert "required" not in document["components"]["schemas"]["PatchedMeUpdateRequest"]


def test_every_operation_documents_its_refusals_in_the_error_shape():
    document = committed_schema()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            refusals = {code for code in operation["responses"] if code.startswith("4")}
            assert {"400", "401"} <= refusals, (method, path, refusals)
            assert "{" not in path or "404" in refusals, (method, path)
            assert {"429", "503"} <= set(operation["responses"]), (method, path)
            assert method == "get" or "403" in refusals, (method, path)


def test_operations_that_can_clash_or_go_stale_document_409_412_428():
    from portal.api.schema import STATE_REFUSALS

    operations = {
        operation["operationId"]: operation
        for operations in committed_schema()["paths"].values()
        for operation in operations.values()
    }
    assert set(STATE_REFUSALS) <= set(operations)  # a renamed operation would silently lose its docs
    for operation_id, codes in STATE_REFUSALS.items():
        assert set(codes) <= set(operations[operation_id]["responses"]), operation_id
    assert "409" in operations["v1_bookings_create"]["responses"]
    assert "412" in operations["v1_tasks_annotation_update"]["responses"]
