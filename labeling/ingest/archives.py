"""Read zip and tar archives without trusting them: nothing is ever extracted by path.

`archive_entries(source=..., limits=...)` first reads the whole directory of the archive (zip
central directory, or every tar header) and refuses the archive as a whole, raising
`ArchiveRefused`, when it has too many entries, expands past the limit or expands suspiciously
many times its own size. Only then does it yield, in archive order, one item per entry:
- `ArchiveFile(stored_name, display_name, data)` for a regular file, its bytes read in memory
  (at most limits.max_file_bytes), its stored name made by names.safe_file_name;
- `EntryRefusal(display_name, refusal)` for an entry refused on its own (a `..` or absolute
  path, a link or device, an entry under a link's path, a name used twice, an encrypted or
  oversized or damaged entry); the other entries still go on, as for a multi-file upload;
- `IgnoredEntry(display_name)` for a file the operating system made (names.is_os_junk: `__MACOSX/`,
  `._*`, `.DS_Store`, `Thumbs.db`, `desktop.ini`), never read: callers count it and say nothing.
Directories are skipped silently: they carry no data, and their names are only prefixes.
"""

import contextlib
import io
import os
import re
import stat
import struct
import tarfile
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .limits import IngestLimits, MiB
from .names import display_name, is_os_junk, safe_file_name
from .refusals import IngestRefused, Refusal

# Small files compress absurdly well (a 2 KB blank is 50x); only large expansions are bombs.
RATIO_CHECK_MIN_BYTES = 1 * MiB

REASON_NOT_AN_ARCHIVE = "the file is not a zip or tar archive"
REASON_ARCHIVE_DAMAGED = "the archive is damaged and cannot be read; re-create it"
REASON_TOO_MANY_ENTRIES = "the archive has more than {limit} entries; the limit is {limit} per archive"
REASON_EXPANDS_TOO_MUCH = "the archive expands to more than {limit} bytes; the limit is {limit} bytes"
REASON_COMPRESSION_RATIO = (
    "the archive expands {ratio} times its own size, which is how zip bombs look; the limit is {limit} times"
)
REASON_ENTRY_PARENT_PATH = "entry '{name}' points outside the archive with '..'; such entries are refused"
REASON_ENTRY_ABSOLUTE_PATH = "entry '{name}' has an absolute path; such entries are refused"
REASON_ENTRY_BAD_NAME = "entry name '{name}' is empty or has control characters; such entries are refused"
REASON_ENTRY_LINK = "entry '{name}' is a link; links are refused, put the file itself in the archive"
REASON_ENTRY_UNDER_LINK = (
    "entry '{name}' lies under '{link}', which is a link; links are refused and so is everything under them"
)
REASON_ENTRY_SPECIAL = "entry '{name}' is a device, pipe or other special file; only regular files are read"
REASON_ENTRY_DUPLICATE = "entry name '{name}' appears {count} times in the archive; every copy is refused"
REASON_ENTRY_ENCRYPTED = "entry '{name}' is encrypted; upload an archive without a password"
REASON_ENTRY_TOO_LARGE = "entry '{name}' is {size} bytes; the limit is {limit} bytes per file"
REASON_ENTRY_DAMAGED = "entry '{name}' is damaged and cannot be read; re-create the archive"

_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:")
# What zipfile raises on mangled data: CRC and size checks, unknown methods or versions, short reads.
_ZIP_READ_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    ValueError,
    EOFError,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    struct.error,
)


@dataclass(frozen=True)
class ArchiveFile:
    stored_name: str
    display_name: str  # the entry's path inside the archive, for people only
    data: bytes


@dataclass(frozen=True)
class EntryRefusal:
    display_name: str
    refusal: Refusal


@dataclass(frozen=True)
class IgnoredEntry:
    display_name: str


class ArchiveRefused(IngestRefused):
    """The archive as a whole is refused; raised before the first entry is yielded."""


@dataclass(frozen=True)
class _Entry:
    """What both archive kinds say about one member, before we trust any of it."""

    name: str
    size: int
    compressed_size: int
    kind: str  # "file", "directory", "link", "special"
    encrypted: bool
    member: object  # the ZipInfo or TarInfo, to read the data later


def archive_entries(
    *, source: Path | BinaryIO, limits: IngestLimits
) -> Iterator[ArchiveFile | EntryRefusal | IgnoredEntry]:
    """Entries of a zip or tar (optionally gz/bz2/xz) archive; see the module docstring."""
    with _opened(source) as (stream, archive_size):
        with _archive_reader(stream) as reader:
            entries = reader.entries(limits, archive_size)
            _refuse_oversized(entries, limits, archive_size)
            name_counts = Counter(_comparable(entry.name) for entry in entries)
            # Extracted, a file under a link's path would be written through the link: refuse it with the link.
            links = {_comparable(entry.name): entry.name for entry in entries if entry.kind == "link"}
            for entry in entries:
                outcome = _outcome(reader, entry, name_counts, links, limits)
                if outcome is not None:
                    yield outcome


@contextlib.contextmanager
def _opened(source: Path | BinaryIO) -> Iterator[tuple[BinaryIO, int]]:
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as stream:
            yield stream, os.fstat(stream.fileno()).st_size
        return
    size = source.seek(0, io.SEEK_END)
    source.seek(0)
    yield source, size


# ---------------------------------------------------------------- archive-level checks


def _refuse_oversized(entries: list[_Entry], limits: IngestLimits, archive_size: int) -> None:
    expanded = sum(entry.size for entry in entries)
    if expanded > limits.max_archive_expanded_bytes:
        limit = limits.max_archive_expanded_bytes
        raise ArchiveRefused(Refusal("archive_too_large", REASON_EXPANDS_TOO_MUCH.format(limit=limit), limit))
    _refuse_bomb_ratio(expanded, archive_size, limits)
    for entry in entries:
        _refuse_bomb_ratio(entry.size, entry.compressed_size, limits)


def _refuse_bomb_ratio(expanded: int, compressed: int, limits: IngestLimits) -> None:
    if expanded < RATIO_CHECK_MIN_BYTES:
        return
    ratio = expanded // max(compressed, 1)
    limit = limits.max_archive_compression_ratio
    if ratio > limit:
        reason = REASON_COMPRESSION_RATIO.format(ratio=ratio, limit=limit)
        raise ArchiveRefused(Refusal("compression_ratio", reason, limit))


def _refuse_too_many(count: int, limits: IngestLimits) -> None:
    if count > limits.max_archive_entries:
        limit = limits.max_archive_entries
        raise ArchiveRefused(Refusal("too_many_entries", REASON_TOO_MANY_ENTRIES.format(limit=limit), limit))


# ---------------------------------------------------------------- per-entry outcome


def _outcome(
    reader, entry: _Entry, name_counts: Counter, links: dict[str, str], limits: IngestLimits
) -> ArchiveFile | EntryRefusal | IgnoredEntry | None:
    shown = display_name(original=entry.name)
    safe_path = _path_problem(entry.name) is None
    if entry.kind == "directory" and safe_path:
        return None
    if safe_path and is_os_junk(path=entry.name):
        return IgnoredEntry(display_name=shown)
    try:
        _refuse_unsafe_entry(entry, shown, name_counts, limits)
        _refuse_under_link(entry, shown, links)
        data = reader.read(entry, limits)
    except IngestRefused as refused:
        return EntryRefusal(display_name=shown, refusal=refused.refusal)
    return ArchiveFile(stored_name=safe_file_name(original=entry.name).stored, display_name=shown, data=data)


def _refuse_unsafe_entry(entry: _Entry, shown: str, name_counts: Counter, limits: IngestLimits) -> None:
    problem = _path_problem(entry.name)
    if problem is not None:
        code, template = problem
        raise IngestRefused(Refusal(code, template.format(name=shown)))
    if entry.kind == "link":
        raise IngestRefused(Refusal("entry_link", REASON_ENTRY_LINK.format(name=shown)))
    if entry.kind != "file":
        raise IngestRefused(Refusal("entry_special", REASON_ENTRY_SPECIAL.format(name=shown)))
    count = name_counts[_comparable(entry.name)]
    if count > 1:
        raise IngestRefused(Refusal("entry_duplicate", REASON_ENTRY_DUPLICATE.format(name=shown, count=count)))
    if entry.encrypted:
        raise IngestRefused(Refusal("entry_encrypted", REASON_ENTRY_ENCRYPTED.format(name=shown)))
    if entry.size > limits.max_file_bytes:
        reason = REASON_ENTRY_TOO_LARGE.format(name=shown, size=entry.size, limit=limits.max_file_bytes)
        raise IngestRefused(Refusal("entry_too_large", reason, limits.max_file_bytes))


def _refuse_under_link(entry: _Entry, shown: str, links: dict[str, str]) -> None:
    parts = _comparable(entry.name).split("/")
    for depth in range(1, len(parts)):
        link = links.get("/".join(parts[:depth]))
        if link is not None:
            reason = REASON_ENTRY_UNDER_LINK.format(name=shown, link=display_name(original=link))
            raise IngestRefused(Refusal("entry_under_link", reason))


def _path_problem(name: str) -> tuple[str, str] | None:
    if not name.strip("/") or any(unicodedata.category(c) == "Cc" for c in name):
        return "entry_bad_name", REASON_ENTRY_BAD_NAME
    if name.startswith(("/", "\\")) or _WINDOWS_DRIVE.match(name):
        return "entry_absolute_path", REASON_ENTRY_ABSOLUTE_PATH
    if ".." in re.split(r"[\\/]", name):
        return "entry_parent_path", REASON_ENTRY_PARENT_PATH
    return None


def _comparable(name: str) -> str:
    # "a.png", "./a.png", "A.PNG" and a decomposed "é" are one file once extracted on macOS or
    # Windows: count them as one name.
    parts = [part for part in re.split(r"[\\/]", name) if part not in ("", ".")]
    return unicodedata.normalize("NFC", "/".join(parts)).casefold()


def _read_bounded(stream: BinaryIO, entry: _Entry, limits: IngestLimits) -> bytes:
    """At most max_file_bytes + 1 bytes, whatever the header claimed."""
    data = stream.read(limits.max_file_bytes + 1)
    if len(data) > limits.max_file_bytes:
        shown = display_name(original=entry.name)
        limit = limits.max_file_bytes
        reason = REASON_ENTRY_TOO_LARGE.format(name=shown, size=f"over {limit}", limit=limit)
        raise IngestRefused(Refusal("entry_too_large", reason, limits.max_file_bytes))
    return data


def _damaged(entry: _Entry) -> IngestRefused:
    reason = REASON_ENTRY_DAMAGED.format(name=display_name(original=entry.name))
    return IngestRefused(Refusal("entry_damaged", reason))


# ---------------------------------------------------------------- readers


@contextlib.contextmanager
def _archive_reader(stream: BinaryIO):
    stream.seek(0)
    if zipfile.is_zipfile(stream):
        stream.seek(0)
        with _ZipReader.open(stream) as reader:
            yield reader
        return
    stream.seek(0)
    with _TarReader.open(stream) as reader:
        yield reader


class _ZipReader:
    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive

    @classmethod
    @contextlib.contextmanager
    def open(cls, stream: BinaryIO):
        try:
            archive = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, struct.error):
            raise ArchiveRefused(Refusal("archive_damaged", REASON_ARCHIVE_DAMAGED)) from None
        with archive:
            yield cls(archive)

    def entries(self, limits: IngestLimits, archive_size: int) -> list[_Entry]:
        # The central directory is already read: counting it costs nothing.
        infos = self.archive.infolist()
        _refuse_too_many(len(infos), limits)
        return [self._entry(info) for info in infos]

    @staticmethod
    def _entry(info: zipfile.ZipInfo) -> _Entry:
        # Unix type bits in the high word; many writers set permissions only (type 0): a file.
        file_type = stat.S_IFMT(info.external_attr >> 16)
        if info.is_dir():
            kind = "directory"
        elif file_type == stat.S_IFLNK:
            kind = "link"
        elif file_type not in (0, stat.S_IFREG):
            kind = "special"
        else:
            kind = "file"
        encrypted = bool(info.flag_bits & 0x1)
        return _Entry(info.filename, info.file_size, info.compress_size, kind, encrypted, info)

    def read(self, entry: _Entry, limits: IngestLimits) -> bytes:
        # zipfile stops at the declared size and checks the CRC at the end; a lying header is
        # a damaged entry, not a bigger read.
        try:
            with self.archive.open(entry.member) as member:
                return _read_bounded(member, entry, limits)
        except _ZIP_READ_ERRORS:
            raise _damaged(entry) from None


class _TarReader:
    def __init__(self, archive: tarfile.TarFile):
        self.archive = archive

    @classmethod
    @contextlib.contextmanager
    def open(cls, stream: BinaryIO):
        try:
            archive = tarfile.open(fileobj=stream, mode="r:*")
        except tarfile.ReadError:
            raise ArchiveRefused(Refusal("not_an_archive", REASON_NOT_AN_ARCHIVE)) from None
        except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError):
            raise ArchiveRefused(Refusal("archive_damaged", REASON_ARCHIVE_DAMAGED)) from None
        with archive:
            yield cls(archive)

    def entries(self, limits: IngestLimits, archive_size: int) -> list[_Entry]:
        """Every header, stopping early at the entry limit or an expansion that is already a bomb.

        A compressed tar has no directory: reading the headers means decompressing the data
        between them, so the limits are checked as we go, not after.
        """
        entries: list[_Entry] = []
        expanded = 0
        while (info := self._next_header()) is not None:
            entries.append(self._entry(info))
            _refuse_too_many(len(entries), limits)
            expanded += info.size
            _refuse_oversized_so_far(expanded, archive_size, limits)
        return entries

    def _next_header(self) -> tarfile.TarInfo | None:
        try:
            return self.archive.next()
        except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError):
            raise ArchiveRefused(Refusal("archive_damaged", REASON_ARCHIVE_DAMAGED)) from None

    @staticmethod
    def _entry(info: tarfile.TarInfo) -> _Entry:
        if info.isdir():
            kind = "directory"
        elif info.issym() or info.islnk():
            kind = "link"
        elif info.isreg():
            kind = "file"
        else:
            kind = "special"
        # Tar stores data raw; the archive-wide ratio check covers compressed tars.
        return _Entry(info.name, info.size, info.size, kind, False, info)

    def read(self, entry: _Entry, limits: IngestLimits) -> bytes:
        try:
            member = self.archive.extractfile(entry.member)
            if member is None:
                raise _damaged(entry)
            with member:
                return _read_bounded(member, entry, limits)
        except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError):
            raise _damaged(entry) from None


def _refuse_oversized_so_far(expanded: int, archive_size: int, limits: IngestLimits) -> None:
    if expanded > limits.max_archive_expanded_bytes:
        limit = limits.max_archive_expanded_bytes
        raise ArchiveRefused(Refusal("archive_too_large", REASON_EXPANDS_TOO_MUCH.format(limit=limit), limit))
    _refuse_bomb_ratio(expanded, archive_size, limits)
