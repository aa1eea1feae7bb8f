"""Page scripts are ES modules, loaded with type="module", that talk to the server only through
static/portal/api.js: one CSRF reader, one fetch (docs/architecture.md "Front end").

Pure pytest (no Django): `.venv/bin/pytest -p no:django tests/portal/test_static_scripts.py`.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
VENDOR = STATIC / "vendor"
TEMPLATES = ROOT / "templates"
API = STATIC / "portal" / "api.js"

SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
STATIC_SRC = re.compile(r"""\bsrc\s*=\s*["']\{%\s*static\s+["']([^"']+)["']\s*%\}["']""")
MODULE_TYPE = re.compile(r"""\btype\s*=\s*["']?module\b""", re.IGNORECASE)
# What only api.js may do: read or send the CSRF token, call fetch or XMLHttpRequest.
SERVER_TALK = re.compile(r"csrf|\bfetch\s*\(|\bXMLHttpRequest\b", re.IGNORECASE)
IMPORT_FROM = re.compile(
    r"""^\s*(?:import|export)\b[^"';]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']""", re.M
)


def page_scripts() -> list[Path]:
    """First-party scripts: every .js under static/ but the vendored libraries."""
    return sorted(p for p in STATIC.rglob("*.js") if VENDOR not in p.parents)


def script_tags(html: str) -> list[tuple[str, bool]]:
    """(static path, loaded as a module) for each <script src="{% static … %}">."""
    tags = []
    for tag in SCRIPT_TAG.findall(html):
        if source := STATIC_SRC.search(tag):
            tags.append((source.group(1), bool(MODULE_TYPE.search(tag))))
    return tags


def classic_page_scripts(html: str) -> list[str]:
    return [path for path, module in script_tags(html) if not path.startswith("vendor/") and not module]


def server_talk(source: str) -> list[str]:
    """The lines of a script that read the CSRF token or reach the server on their own."""
    return [line.strip() for line in source.splitlines() if SERVER_TALK.search(line)]


def imports(source: str) -> list[str]:
    return [a or b for a, b in IMPORT_FROM.findall(source)]


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_load_page_scripts_as_modules(template):
    assert classic_page_scripts(template.read_text()) == [], 'load page scripts with <script type="module" src=…>'


@pytest.mark.parametrize("script", [s for s in page_scripts() if s != API], ids=relative)
def test_only_api_js_reads_the_csrf_token_or_calls_the_server(script):
    assert server_talk(script.read_text()) == [], "import csrfToken, send, request… from static/portal/api.js"


@pytest.mark.parametrize("script", page_scripts(), ids=relative)
def test_imports_are_relative_files_under_static(script):
    for specifier in imports(script.read_text()):
        assert specifier.startswith(("./", "../")), f"{specifier}: no bare or remote specifiers (no build step, no CDN)"
        target = (script.parent / specifier).resolve()
        assert target.is_file() and STATIC in target.parents, f"{specifier} does not resolve to a file under static/"


def test_every_page_script_is_loaded_by_a_template_or_imported():
    loaded = {STATIC / path for t in TEMPLATES.rglob("*.html") for path, _ in script_tags(t.read_text())}
    imported = {(s.parent / spec).resolve() for s in page_scripts() for spec in imports(s.read_text())}
    assert [relative(s) for s in page_scripts() if s not in loaded | imported] == []


def test_the_page_scripts_use_api_js():
    users = [relative(s) for s in page_scripts() if any(spec.endswith("/api.js") for spec in imports(s.read_text()))]
    # The annotation workspace's entry and its save module (static/labeling/workspace/), and the bookings page.
    expected = {"static/labeling/workspace.js", "static/labeling/workspace/save.js", "static/scheduler/bookings.js"}
    assert expected <= set(users)


def test_the_checks_find_what_they_look_for():
    assert classic_page_scripts("""<script src="{% static 'labeling/queue.js' %}"></script>""") == ["labeling/queue.js"]
    assert classic_page_scripts("""<script type="module" src="{% static 'labeling/queue.js' %}"></script>""") == []
    assert (
        classic_page_scripts("""<script src="{% static 'vendor/uplot-1.6.32/uPlot.iife.min.js' %}"></script>""") == []
    )
    assert server_talk("  const csrf = root.dataset.csrf;\n  x();") == ["const csrf = root.dataset.csrf;"]
    assert server_talk("var m = document.cookie.match(/csrftoken=([^;]+)/);")
    assert server_talk('headers: { "X-CSRFToken": token }')
    assert server_talk("return fetch(url, { credentials: 'same-origin' });")
    assert server_talk("var xhr = new XMLHttpRequest();")
    assert server_talk('import { request } from "../portal/api.js";\n// tiles are fetched as needed') == []
    assert imports('import { a, b } from "../portal/api.js";\nimport "./side.js";\nimport {\n  c } from "./c.js";') == [
        "../portal/api.js",
        "./side.js",
        "./c.js",
    ]
