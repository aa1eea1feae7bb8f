"""The archive corpus: zip and tar, built in memory, each entry with its exact outcome."""

import io
import os
import stat
import tarfile
import warnings
import zipfile

import pytest

from labeling.ingest.archives import (
    REASON_COMPRESSION_RATIO,
    REASON_ENTRY_ABSOLUTE_PATH,
    REASON_ENTRY_BAD_NAME,
    REASON_ENTRY_DAMAGED,
    REASON_ENTRY_DUPLICATE,
    REASON_ENTRY_ENCRYPTED,
    REASON_ENTRY_LINK,
    REASON_ENTRY_PARENT_PATH,
    REASON_ENTRY_SPECIAL,
    REASON_ENTRY_TOO_LARGE,
    REASON_ENTRY_UNDER_LINK,
    REASON_EXPANDS_TOO_MUCH,
    REASON_NOT_AN_ARCHIVE,
    REASON_TOO_MANY_ENTRIES,
    ArchiveFile,
    ArchiveRefused,
    EntryRefusal,
    IgnoredEntry,
    archive_entries,
)
from labeling.ingest.limits import IngestLimits, MiB
from labeling.ingest.names import safe_file_name
from labeling.ingest.refusals import Refusal

LIMITS = IngestLimits()


def zip_of(*entries, compression=zipfile.ZIP_DEFLATED) -> io.BytesIO:
    """entries: (name, data) or (ZipInfo, data)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicates we add on purpose
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def tar_of(*members, mode="w") -> io.BytesIO:
    """members: (TarInfo, data or None)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    buffer.seek(0)
    return buffer


def tar_member(name, kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def outcomes(source, limits=LIMITS):
    return list(archive_entries(source=source, limits=limits))


def refusal_of(outcome) -> Refusal:
    assert isinstance(outcome, EntryRefusal), outcome
    return outcome.refusal


def test_it_yields_regular_files_with_safe_names_and_skips_directories():
    found = outcomes(zip_of(("ep01/", b""), ("ep01/001.png", b"one"), ("cover.png", b"two")))
    assert found == [
        ArchiveFile(
            stored_name=safe_file_name(original="ep01/001.png").stored, display_name="ep01/001.png", data=b"one"
        ),
        ArchiveFile(stored_name="cover.png", display_name="cover.png", data=b"two"),
    ]
    assert "/" not in found[0].stored_name


def test_zip_traversal_and_absolute_entries_are_refused_and_the_rest_go_on():
    found = outcomes(
        zip_of(("../evil.png", b"x"), ("/etc/cron.d/evil", b"x"), ("ok.png", b"fine"), ("a/../../b.png", b"x"))
    )
    assert refusal_of(found[0]) == Refusal("entry_parent_path", REASON_ENTRY_PARENT_PATH.format(name="../evil.png"))
    assert refusal_of(found[1]) == Refusal(
        "entry_absolute_path", REASON_ENTRY_ABSOLUTE_PATH.format(name="/etc/cron.d/evil")
    )
    assert found[2] == ArchiveFile("ok.png", "ok.png", b"fine")
    assert refusal_of(found[3]).code == "entry_parent_path"


def test_windows_style_paths_are_refused_too():
    found = outcomes(zip_of(("..\\evil.png", b"x"), ("C:\\evil.png", b"x")))
    assert [refusal_of(item).code for item in found] == ["entry_parent_path", "entry_absolute_path"]


def test_zip_symlinks_are_refused():
    link = zipfile.ZipInfo("link.png")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    found = outcomes(zip_of((link, b"/etc/passwd"), ("real.png", b"data")))
    assert refusal_of(found[0]) == Refusal("entry_link", REASON_ENTRY_LINK.format(name="link.png"))
    assert isinstance(found[1], ArchiveFile)


def test_every_copy_of_a_duplicate_name_is_refused():
    found = outcomes(zip_of(("a.png", b"first"), ("b.png", b"other"), ("./A.PNG", b"second")))
    assert refusal_of(found[0]) == Refusal("entry_duplicate", REASON_ENTRY_DUPLICATE.format(name="a.png", count=2))
    assert isinstance(found[1], ArchiveFile)
    assert refusal_of(found[2]).code == "entry_duplicate"


def test_too_many_entries_refuse_the_whole_archive():
    source = zip_of(*[(f"{index}.png", b"x") for index in range(6)])
    with pytest.raises(ArchiveRefused) as refused:
        outcomes(source, IngestLimits(max_archive_entries=5))
    assert refused.value.refusal == Refusal("too_many_entries", REASON_TOO_MANY_ENTRIES.format(limit=5), 5)


def test_a_zip_bomb_is_refused_by_its_compression_ratio_before_anything_is_read():
    source = zip_of(("blank.bmp", b"\x00" * (20 * MiB)))
    ratio = 20 * MiB // len(source.getvalue())
    with pytest.raises(ArchiveRefused) as refused:
        outcomes(source)
    assert ratio > 1000
    assert refused.value.refusal.code == "compression_ratio"
    assert refused.value.refusal.reason == REASON_COMPRESSION_RATIO.format(ratio=ratio, limit=200)


def test_small_files_may_compress_well():
    assert [item.data for item in outcomes(zip_of(("blank.bmp", b"\x00" * 100_000)))] == [b"\x00" * 100_000]


def test_the_total_expanded_size_is_limited():
    source = zip_of(("a.bin", os.urandom(600_000)), ("b.bin", os.urandom(600_000)))
    with pytest.raises(ArchiveRefused) as refused:
        outcomes(source, IngestLimits(max_archive_expanded_bytes=1_000_000))
    assert refused.value.refusal == Refusal(
        "archive_too_large", REASON_EXPANDS_TOO_MUCH.format(limit=1_000_000), 1_000_000
    )


def test_entries_over_the_file_limit_are_refused_on_their_own():
    found = outcomes(zip_of(("big.png", os.urandom(5000)), ("small.png", b"ok")), IngestLimits(max_file_bytes=4096))
    assert refusal_of(found[0]) == Refusal(
        "entry_too_large", REASON_ENTRY_TOO_LARGE.format(name="big.png", size=5000, limit=4096), 4096
    )
    assert found[1] == ArchiveFile("small.png", "small.png", b"ok")


def test_a_damaged_zip_entry_is_refused_and_the_rest_go_on():
    source = zip_of(("bad.png", b"A" * 1000), ("good.png", b"B" * 10), compression=zipfile.ZIP_STORED)
    raw = bytearray(source.getvalue())
    raw[raw.index(b"A" * 1000) + 500] = ord("Z")  # the CRC no longer matches
    found = outcomes(io.BytesIO(bytes(raw)))
    assert refusal_of(found[0]) == Refusal("entry_damaged", REASON_ENTRY_DAMAGED.format(name="bad.png"))
    assert found[1] == ArchiveFile("good.png", "good.png", b"B" * 10)


def test_tar_links_devices_and_paths_are_refused():
    source = tar_of(
        (tar_member("../up.png"), b"x"),
        (tar_member("/abs.png"), b"x"),
        (tar_member("sym.png", tarfile.SYMTYPE, "/etc/passwd"), None),
        (tar_member("hard.png", tarfile.LNKTYPE, "ok.png"), None),
        (tar_member("dev", tarfile.CHRTYPE), None),
        (tar_member("pipe", tarfile.FIFOTYPE), None),
        (tar_member("dir", tarfile.DIRTYPE), None),
        (tar_member("ok.png"), b"fine"),
    )
    found = outcomes(source)
    assert [refusal_of(item).reason for item in found[:6]] == [
        REASON_ENTRY_PARENT_PATH.format(name="../up.png"),
        REASON_ENTRY_ABSOLUTE_PATH.format(name="/abs.png"),
        REASON_ENTRY_LINK.format(name="sym.png"),
        REASON_ENTRY_LINK.format(name="hard.png"),
        REASON_ENTRY_SPECIAL.format(name="dev"),
        REASON_ENTRY_SPECIAL.format(name="pipe"),
    ]
    assert found[6:] == [ArchiveFile("ok.png", "ok.png", b"fine")]


def test_tar_duplicates_and_too_many_entries():
    found = outcomes(tar_of((tar_member("a.png"), b"1"), (tar_member("a.png"), b"2")))
    assert [refusal_of(item).code for item in found] == ["entry_duplicate", "entry_duplicate"]
    with pytest.raises(ArchiveRefused) as refused:
        outcomes(
            tar_of(*[(tar_member(f"{index}.png"), b"x") for index in range(4)]), IngestLimits(max_archive_entries=3)
        )
    assert refused.value.refusal.code == "too_many_entries"


def test_a_gzipped_tar_bomb_is_refused_by_its_ratio():
    source = tar_of((tar_member("blank.bmp"), b"\x00" * (20 * MiB)), mode="w:gz")
    with pytest.raises(ArchiveRefused) as refused:
        outcomes(source)
    assert refused.value.refusal.code == "compression_ratio"


def test_compressed_tars_are_read_in_order(tmp_path):
    path = tmp_path / "episode.tar.xz"
    path.write_bytes(
        tar_of(*[(tar_member(f"ep/{index:03}.png"), bytes([index]) * 10) for index in range(5)], mode="w:xz").getvalue()
    )
    found = outcomes(path)
    assert [item.display_name for item in found] == [f"ep/{index:03}.png" for index in range(5)]
    assert [item.data for item in found] == [bytes([index]) * 10 for index in range(5)]


def test_other_files_are_not_archives():
    with pytest.raises(ArchiveRefused) as refused:
        outcomes(io.BytesIO(b"just some text, not an archive" * 40))
    assert refused.value.refusal == Refusal("not_an_archive", REASON_NOT_AN_ARCHIVE)


def test_nothing_is_ever_written_to_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = tar_of((tar_member("../../escape.png"), b"x"), (tar_member("inside/ok.png"), b"y"))
    outcomes(source)
    outcomes(zip_of(("../../escape.png", b"x"), ("inside/ok.png", b"y")))
    assert os.listdir(tmp_path) == []
    assert not (tmp_path.parent / "escape.png").exists()


def test_zip_devices_are_refused():
    device = zipfile.ZipInfo("tty")
    device.external_attr = (stat.S_IFCHR | 0o600) << 16
    assert refusal_of(outcomes(zip_of((device, b"")))[0]) == Refusal(
        "entry_special", REASON_ENTRY_SPECIAL.format(name="tty")
    )


def test_one_bomb_entry_among_incompressible_ones_refuses_the_archive():
    # The archive as a whole expands about 1x; only the per-entry ratio can see the bomb.
    photo = zipfile.ZipInfo("photo.bin")
    photo.compress_type = zipfile.ZIP_STORED
    source = zip_of((photo, os.urandom(8 * MiB)), ("blank.bmp", b"\x00" * (2 * MiB)))
    with pytest.raises(ArchiveRefused) as refused:
        outcomes(source)
    assert refused.value.refusal.code == "compression_ratio"


def test_encrypted_entries_are_refused_without_asking_for_a_password():
    # zipfile cannot write encrypted entries: set the "encrypted" flag bit of the first entry
    # in its local header (flags at offset 6) and central directory record (offset 8).
    raw = bytearray(zip_of(("secret.png", b"ciphertext"), ("open.png", b"plain")).getvalue())
    raw[raw.index(b"PK\x03\x04") + 6] |= 0x1
    raw[raw.index(b"PK\x01\x02") + 8] |= 0x1
    found = outcomes(io.BytesIO(bytes(raw)))
    assert refusal_of(found[0]) == Refusal("entry_encrypted", REASON_ENTRY_ENCRYPTED.format(name="secret.png"))
    assert found[1] == ArchiveFile("open.png", "open.png", b"plain")


def test_names_with_control_characters_are_refused():
    found = outcomes(tar_of((tar_member("bell\x07.png"), b"x")))
    assert refusal_of(found[0]) == Refusal("entry_bad_name", REASON_ENTRY_BAD_NAME.format(name="bell.png"))


def test_os_junk_is_ignored_without_a_refusal():
    found = outcomes(
        zip_of(
            ("__MACOSX/", b""),
            ("__MACOSX/ep/._001.png", b"\x00\x05\x16\x07"),
            ("ep/._002.png", b"\x00\x05\x16\x07"),
            ("ep/.DS_Store", b"Bud1"),
            ("ep/Thumbs.db", b"x"),
            ("ep/THUMBS.DB", b"y"),
            ("desktop.ini", b"[.ShellClassInfo]"),
            ("ep/001.png", b"one"),
        )
    )
    assert [type(f).__name__ for f in found] == ["IgnoredEntry"] * 6 + ["ArchiveFile"]
    assert found[0] == IgnoredEntry(display_name="__MACOSX/ep/._001.png")


def test_junk_names_still_climbing_out_are_refused():
    [found] = outcomes(zip_of(("__MACOSX/../../._evil", b"x")))
    assert refusal_of(found).code == "entry_parent_path"


def test_entries_under_a_refused_link_are_refused_too():
    link = zipfile.ZipInfo("ep")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    found = outcomes(zip_of((link, b"/etc"), ("ep/passwd.png", b"x"), ("./EP/sub/a.png", b"y"), ("epilogue.png", b"z")))
    assert refusal_of(found[0]).code == "entry_link"
    assert refusal_of(found[1]) == Refusal(
        "entry_under_link", REASON_ENTRY_UNDER_LINK.format(name="ep/passwd.png", link="ep")
    )
    assert refusal_of(found[2]).code == "entry_under_link"
    assert isinstance(found[3], ArchiveFile)


def test_tar_entries_under_a_symlinked_folder_are_refused():
    found = outcomes(
        tar_of(
            (tar_member("pages", tarfile.SYMTYPE, linkname="/etc"), None),
            (tar_member("pages/001.png"), b"x"),
            (tar_member("cover.png"), b"y"),
        )
    )
    assert [getattr(f, "refusal", None) and f.refusal.code for f in found] == [
        "entry_link",
        "entry_under_link",
        None,
    ]
