"""Stored names are safe by construction; the client's name survives only as display text."""

import re

import pytest

from labeling.ingest.names import MAX_DISPLAY_NAME_LENGTH, MAX_STORED_NAME_LENGTH, SafeFileName, safe_file_name

STORABLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

UNSAFE = [
    "../../etc/passwd",
    "..\\..\\windows\\system32\\drivers\\etc\\hosts",
    "/etc/passwd",
    "C:\\Users\\artist\\strip.png",
    "ep01/../../001.png",
    "..",
    ".hidden.png",
    "",
    "a\x00b.png",
    "line\nbreak.png",
    "cat\u202egnp.exe",
    "Épisode 01 ／ 표지.png",
    "表紙.jpg",
    "x" * 300 + ".png",
    "strip .png",
    "-rf.png",
]


@pytest.mark.parametrize("original", UNSAFE, ids=range(len(UNSAFE)))
def test_unsafe_names_are_replaced_by_a_plain_slug_and_hash(original):
    name = safe_file_name(original=original)
    assert name.replaced
    assert STORABLE.fullmatch(name.stored), name.stored
    assert ".." not in name.stored and len(name.stored) <= MAX_STORED_NAME_LENGTH
    assert re.search(r"-[0-9a-f]{10}(\.[a-z0-9]+)?$", name.stored)


def test_plain_names_are_kept():
    assert safe_file_name(original="ep01_slice-003.png") == SafeFileName(
        "ep01_slice-003.png", "ep01_slice-003.png", False
    )


def test_slugs_stay_readable_and_keep_the_extension():
    assert safe_file_name(original="../../Épisode 01.PNG").stored.startswith("Episode-01-")
    assert safe_file_name(original="../../Épisode 01.PNG").stored.endswith(".png")
    assert safe_file_name(original="表紙.jpg").stored.startswith("file-")


def test_different_unsafe_names_never_collide_and_the_same_name_is_stable():
    first, second = safe_file_name(original="a/001.png"), safe_file_name(original="b/001.png")
    assert first.stored != second.stored
    assert safe_file_name(original="a/001.png") == first


def test_the_display_name_keeps_the_original_without_invisible_tricks():
    assert safe_file_name(original="../../etc/passwd").display == "../../etc/passwd"
    assert safe_file_name(original="cat\u202egnp.exe").display == "catgnp.exe"
    assert safe_file_name(original="a\x00b\nc.png").display == "abc.png"
    assert safe_file_name(original="Épisode 01 ／ 표지.png").display == "Épisode 01 ／ 표지.png"
    assert len(safe_file_name(original="x" * 300).display) == MAX_DISPLAY_NAME_LENGTH


def test_an_empty_name_gets_a_usable_display_name():
    assert safe_file_name(original="").display == "file"
