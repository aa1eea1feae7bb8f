"""Vendored front-end libraries match static/vendor/MANIFEST.json, and nothing is loaded from a CDN.

Pure pytest (no Django): `.venv/bin/pytest -p no:django tests/portal/test_vendored_assets.py`.
"""

import hashlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "static" / "vendor"
MANIFEST = VENDOR / "MANIFEST.json"
REQUIRED_KEYS = {"name", "version", "license", "path", "files", "source", "tarball_sha512_integrity"}
LICENCE_NAMES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "COPYING")
# An SPDX id or expression such as "MIT", "BSD-3-Clause", "(MIT OR Apache-2.0)".
SPDX = re.compile(r"^\(?[A-Za-z0-9.+-]+(?: (?:OR|AND|WITH) [A-Za-z0-9.+-]+)*\)?$")
SCANNED_SUFFIXES = {".html", ".js", ".css"}
# Remote script/style references: src= on any tag, href= on <link>, url(...) in CSS, @import.
# Plain <a href="https://..."> links are allowed: they load nothing into the page.
REMOTE_REFERENCE = re.compile(
    r"""src\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|<link\b[^>]*?\bhref\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//"""
    r"""|@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)


def load_manifest():
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def sha256_of(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def remote_references(paths):
    """(file, line number, line) for every script/style URL pointing off-site."""
    hits = []
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if REMOTE_REFERENCE.search(line):
                hits.append((path, number, line.strip()))
    return hits


def first_party_files():
    """Templates and static files, excluding static/vendor itself."""
    for base in (ROOT / "templates", ROOT / "static"):
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() and path.suffix in SCANNED_SUFFIXES and VENDOR not in path.parents:
                yield path


ENTRIES = load_manifest() if MANIFEST.exists() else []


def entry_id(entry):
    return entry.get("path", "?")


def test_the_manifest_is_a_non_empty_list_of_complete_entries():
    manifest = load_manifest()
    assert isinstance(manifest, list) and manifest
    for entry in manifest:
        missing = REQUIRED_KEYS - entry.keys()
        assert not missing, f"{entry.get('name')}: missing keys {sorted(missing)}"
        assert entry["files"], f"{entry['name']}: no files listed"


def test_each_folder_is_listed_once():
    paths = [entry["path"] for entry in load_manifest()]
    assert len(paths) == len(set(paths))


@pytest.mark.parametrize("entry", ENTRIES, ids=entry_id)
def test_every_listed_file_exists_with_its_recorded_sha256(entry):
    folder = VENDOR / entry["path"]
    for relative, expected in entry["files"].items():
        path = folder / relative
        assert path.is_file(), f"{path} is listed in the manifest but missing"
        assert sha256_of(path) == expected, f"{path} does not match its sha256 in the manifest"


@pytest.mark.parametrize("entry", ENTRIES, ids=entry_id)
def test_no_unlisted_file_sits_in_a_vendor_folder(entry):
    folder = VENDOR / entry["path"]
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert on_disk - set(entry["files"]) == set()


def test_every_vendor_folder_on_disk_is_in_the_manifest():
    listed = {entry["path"] for entry in load_manifest()}
    on_disk = {p.name for p in VENDOR.iterdir() if p.is_dir()}
    assert on_disk - listed == set(), "vendored folders missing from MANIFEST.json"


@pytest.mark.parametrize("entry", ENTRIES, ids=entry_id)
def test_each_folder_is_named_after_its_version(entry):
    assert entry["path"].endswith("-" + entry["version"])


@pytest.mark.parametrize("entry", ENTRIES, ids=entry_id)
def test_each_library_has_a_licence_file_and_an_spdx_licence(entry):
    assert SPDX.match(entry["license"].strip()), f"{entry['name']}: {entry['license']!r} is not an SPDX id"
    folder = VENDOR / entry["path"]
    licences = [folder / name for name in LICENCE_NAMES if (folder / name).is_file()]
    assert licences, f"{folder} has no licence file"
    assert all(p.stat().st_size > 0 for p in licences)
    assert any(p.relative_to(folder).as_posix() in entry["files"] for p in licences)


@pytest.mark.parametrize("entry", ENTRIES, ids=entry_id)
def test_each_library_records_its_npm_tarball(entry):
    tarball = entry["name"].lstrip("@").replace("/", "-") + "-" + entry["version"] + ".tgz"
    assert entry["source"] == f"npm registry tarball {tarball}"
    assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", entry["tarball_sha512_integrity"])


def test_no_template_or_static_file_loads_a_script_or_style_from_a_url():
    hits = remote_references(first_party_files())
    assert hits == [], "CDN references (vendor the file instead):\n" + "\n".join(
        f"{path.relative_to(ROOT)}:{number}: {line}" for path, number, line in hits
    )


@pytest.mark.parametrize(
    "line",
    [
        '<script src="https://cdn.jsdelivr.net/npm/htmx.org"></script>',
        "<script src='http://unpkg.com/uplot'></script>",
        '<script src="//cdn.example.com/x.js"></script>',
        '<link rel="stylesheet" href="https://cdn.example.com/x.css">',
        "body { background: url(https://cdn.example.com/bg.png); }",
        '@import url("https://fonts.googleapis.com/css");',
    ],
)
def test_the_cdn_scan_catches_remote_references(tmp_path, line):
    page = tmp_path / "page.html"
    page.write_text(f"<html>\n{line}\n</html>\n")
    assert remote_references([page]) == [(page, 2, line)]


@pytest.mark.parametrize(
    "line",
    [
        "<script src=\"{% static 'vendor/htmx-2.0.11/htmx.min.js' %}\"></script>",
        '<a href="https://github.com/vkurko/calendar">EventCalendar</a>',
        "body { background: url('../img/bg.png'); }",
    ],
)
def test_the_cdn_scan_allows_local_assets_and_plain_links(tmp_path, line):
    page = tmp_path / "page.html"
    page.write_text(line + "\n")
    assert remote_references([page]) == []
