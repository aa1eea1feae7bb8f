"""The Content-Security-Policy (docs/security.md): sent on every response, no inline script allowed,
and no template that would need one."""

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# A <script> element without a src attribute (json_script's type="application/json" data is not code).
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def csp_of(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.django_db
def test_pages_send_a_policy_that_allows_no_inline_script(client, annotator):
    client.force_login(annotator)
    for url in ("/accounts/login/", "/", "/label/", "/labeling/", "/api/v1/tasks/"):
        policy = csp_of(client.get(url))
        assert policy["script-src"] == ["'self'"], url
        assert "'unsafe-eval'" not in policy["script-src"] and "'unsafe-inline'" not in policy["script-src"]
        assert policy["object-src"] == ["'none'"]
        assert policy["default-src"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'self'"]


@pytest.mark.django_db
def test_the_api_docs_load_their_start_up_script_from_a_file(admin_client):
    page = admin_client.get("/api/docs/").content.decode()
    assert not INLINE_SCRIPT.search(page)
    assert admin_client.get("/api/docs/?script=").status_code == 200


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_holds_an_inline_script_or_event_handler(template):
    text = template.read_text()
    assert not INLINE_SCRIPT.search(text), "move the script to static/ and its data to json_script"
    assert not EVENT_HANDLER.search(text), "bind events in the page's static script"
    assert not JAVASCRIPT_URL.search(text)


def test_the_grep_finds_what_it_looks_for():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert INLINE_SCRIPT.search('<script type="module">x</script>')
    assert not INLINE_SCRIPT.search('<script src="/static/a.js"></script>')
    assert not INLINE_SCRIPT.search('<script id="d" type="application/json">{}</script>')
    assert EVENT_HANDLER.search('<button onclick="go()">')
    assert not EVENT_HANDLER.search('<button data-onclick="x">')
    assert JAVASCRIPT_URL.search('<a href="javascript:go()">')
