"""The one entry point for annotation imports: the reader of each format, and which image references
are refused. Pure Python.

Each reader (`read_<format>` in the format's module) turns the uploaded files into `ImportRecord`s
(base.py), one per image it names, and collects per-record problems instead of stopping at the
first; the import service matches each record's reference to an image of the dataset and writes
nothing unless every record is clean.
Coordinates: COCO records are in the image's pixels; YOLO and Label Studio records are fractions
of the image (`normalized`), turned into pixels once the image, and so its size, is known.
"""

import re
from urllib.parse import parse_qs, unquote, urlsplit

from labeling.formats.coco import read_coco
from labeling.formats.labelstudio import read_label_studio
from labeling.formats.yolo import read_yolo

FORMATS = ("coco", "yolo", "label_studio")

REF_ABSOLUTE = "{ref!r} is an absolute path: refer to images by file name"
REF_PARENT = "{ref!r} climbs out of its folder (`..`)"
REF_URL = "{ref!r} is a URL: images are referred to by file name, and URLs are never fetched"
REF_EMPTY = "the record names no image"

# ---------------------------------------------------------------- references


def reference_problem(reference: str) -> str | None:
    """Why a reference points outside the uploaded set, or None. Checked before any matching."""
    if not isinstance(reference, str) or not reference.strip():
        return REF_EMPTY
    path = reference_path(reference)
    if path is None:
        return REF_URL.format(ref=reference)
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path) or path.startswith("~"):
        return REF_ABSOLUTE.format(ref=reference)
    if ".." in path.split("/"):
        return REF_PARENT.format(ref=reference)
    return None


def reference_path(reference: str) -> str | None:
    """The path a reference names (backslashes and %-escapes undone); None for a URL to elsewhere.

    Label Studio's local-files form `/data/local-files/?d=<path>` names <path>.
    """
    text = reference.strip()
    if re.match(r"^[A-Za-z]:[\\/]", text):
        return text.replace("\\", "/")  # a Windows drive path (not a URL scheme): absolute
    parts = urlsplit(text)
    if "d" in parse_qs(parts.query) and parts.path.rstrip("/").endswith("local-files"):
        text = parse_qs(parts.query)["d"][0]
    elif parts.scheme or parts.netloc:
        return None
    return unquote(text).replace("\\", "/")


def reference_name(reference: str) -> str:
    return reference_path(reference).rsplit("/", 1)[-1]


READERS = {"coco": read_coco, "yolo": read_yolo, "label_studio": read_label_studio}
