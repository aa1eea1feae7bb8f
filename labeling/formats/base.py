"""What every writer receives: the records, the version's metadata, and the counts it reports."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

SPLITS = ("train", "val", "test")


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
