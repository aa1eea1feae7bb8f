"""What every writer receives (the records, the version's metadata) and reports (its counts), what every
reader returns (`ImportRecord`s and per-record errors), and the small checks the readers share."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

SPLITS = ("train", "val", "test")

NOT_JSON = "the file is not JSON (UTF-8)"


@dataclass(frozen=True)
class ExportRecord:
    """One item of a frozen version: its id, split and VersionItem.snapshot (labeling/services/versions.py)."""

    item_id: int
    split: str
    snapshot: dict


@dataclass(frozen=True)
class ExportMeta:
    """The version being exported. `classes` are the schema's classes plus any class a frozen shape still
    uses after it left the schema (so every shape has a category); each {"name", "shapes", "attributes", ...}."""

    dataset: str
    version: int
    content_hash: str
    created: str  # ISO 8601
    classes: list[dict]
    relation_types: list[dict] = field(default_factory=list)

    @property
    def shape_classes(self) -> list[str]:
        """Classes that draw boxes or polygons (image-level tag classes are not categories)."""
        return [c["name"] for c in self.classes if set(c.get("shapes", ["box"])) - {"tag"}]


@dataclass
class ExportCounts:
    items: int = 0
    images: int = 0
    annotations: int = 0  # shape parts written (a shape split across k images counts k)
    groups: int = 0  # shapes split into parts linked by a group id
    tags: int = 0
    relations: int = 0
    dropped: int = 0  # parts with nothing left after clipping to a tile

    def as_dict(self) -> dict:
        return dict(self.__dict__)


# sha256 of a stored slice -> the path of its canonical PNG (the service knows the storage layout).
ImagePath = Callable[[str], Path]
Progress = Callable[[int], None]
Records = Iterable[ExportRecord]


# ---------------------------------------------------------------- import


@dataclass
class ImportRecord:
    record: str  # how errors name it: "image 12", "task 3", "labels/train/a.txt"
    reference: str  # the image it names, as written in the file
    shapes: list[dict] = field(default_factory=list)
    relations: list[dict] = field(default_factory=list)
    normalized: bool = False  # coordinates are fractions of the image's width and height
    width: int | None = None  # the size the file declares for the image, when it does
    height: int | None = None


@dataclass
class ReadResult:
    records: list[ImportRecord] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # {"record", "message"}

    def fail(self, record: str, message: str) -> None:
        self.errors.append({"record": record, "message": message})


def parse_json(data: bytes, name: str, result: ReadResult):
    """The file's JSON document, or None with NOT_JSON recorded against the file."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        result.fail(name, NOT_JSON)
        return None


def int_or_none(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
