"""Stored names for uploaded files: safe by construction, never the client's path.

The name a client sends is display text only. What goes to storage is either the name itself,
when it is already plain (ASCII letters, digits, `.`, `_`, `-`; no leading dot; short), or a
slug of it plus a short hash of the original, so two different unsafe names never collide.
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass

MAX_STORED_NAME_LENGTH = 100
MAX_DISPLAY_NAME_LENGTH = 255
_SLUG_STEM_LENGTH = 60
_HASH_LENGTH = 10
_FALLBACK_STEM = "file"

_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_PLAIN_EXTENSION = re.compile(r"\.[a-z0-9]{1,8}")
_NOT_SLUG = re.compile(r"[^A-Za-z0-9_-]+")
# Characters that fool a reader of the display name: bidi overrides and isolates (which turn
# "cat\u202egnp.exe" into "catexe.png" on screen), zero-width marks and BOMs.
_INVISIBLE = dict.fromkeys(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0xFEFF, 0x061C]
)


@dataclass(frozen=True)
class SafeFileName:
    stored: str  # what storage uses: plain ASCII, no separators, at most MAX_STORED_NAME_LENGTH
    display: str  # what people see: the original without control or invisible characters
    replaced: bool  # True when `stored` is a slug + hash rather than the original


def safe_file_name(*, original: str) -> SafeFileName:
    display = display_name(original=original)
    if is_plain_name(original):
        return SafeFileName(stored=original, display=display, replaced=False)
    return SafeFileName(stored=_slug_with_hash(original), display=display, replaced=True)


def is_plain_name(name: str) -> bool:
    """Already safe to store as is: one path component no file system or shell reads specially."""
    return len(name) <= MAX_STORED_NAME_LENGTH and _PLAIN_NAME.fullmatch(name) is not None and ".." not in name


def display_name(*, original: str) -> str:
    """The original name for showing: controls and invisible characters removed, length capped."""
    visible = "".join(
        character
        for character in original.translate(_INVISIBLE)
        if unicodedata.category(character) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    return visible[:MAX_DISPLAY_NAME_LENGTH].strip() or _FALLBACK_STEM


def _slug_with_hash(original: str) -> str:
    # surrogatepass: names decoded with surrogateescape from raw bytes must still hash.
    digest = hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LENGTH]
    stem, extension = _split_extension(_last_component(original))
    return f"{_slug(stem)}-{digest}{extension}"


def _last_component(original: str) -> str:
    # Only to make the slug readable ("ep01/001.png" -> "001"); the hash covers the whole path.
    return re.split(r"[\\/]", original)[-1]


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    candidate = f".{extension.lower()}"
    if dot and stem and _PLAIN_EXTENSION.fullmatch(candidate):
        return stem, candidate
    return name, ""


def _slug(text: str) -> str:
    # NFKD then ASCII: "Épisode" -> "Episode", fullwidth "／" -> "/" -> dropped; the rest -> "-".
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_text).strip("-_")[:_SLUG_STEM_LENGTH].strip("-_")
    return slug or _FALLBACK_STEM


# Files an operating system leaves beside the user's own: macOS resource forks (`__MACOSX/`, `._*`)
# and folder settings (`.DS_Store`), Windows thumbnails and folder settings (`Thumbs.db`, `desktop.ini`).
_OS_JUNK_FOLDERS = frozenset({"__macosx"})
_OS_JUNK_FILES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})


def is_os_junk(*, path: str) -> bool:
    """True for a file the operating system made, not the person: skipped without a word."""
    parts = [part.casefold() for part in re.split(r"[\\/]", path) if part]
    if not parts:
        return False
    return bool(_OS_JUNK_FOLDERS.intersection(parts[:-1])) or parts[-1] in _OS_JUNK_FILES or parts[-1].startswith("._")
