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
