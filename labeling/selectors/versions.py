"""Reads for dataset versions: a dataset's versions, a version's items, and the diff of two."""

from django.db.models import QuerySet

from labeling.documents import document_diff
from labeling.models import Dataset, DatasetVersion, VersionItem
from portal.inputs import is_id_text

# How a job's `inputs` name a dataset version (docs/decisions.md §1: an opaque reference, no foreign key).
# Labeling owns the format; whoever reads a job's inputs asks `version_from_ref`.
VERSION_REF_PREFIX = "labeling:version:"


def version_ref(*, version: DatasetVersion) -> str:
    return f"{VERSION_REF_PREFIX}{version.pk}"


def version_from_ref(ref: str) -> DatasetVersion | None:
    """The version a reference names, or None when it is not a version reference or names no version."""
    if not isinstance(ref, str) or not ref.startswith(VERSION_REF_PREFIX):
        return None
    ident = ref.removeprefix(VERSION_REF_PREFIX)
    if not is_id_text(ident):
        return None
    return DatasetVersion.objects.filter(pk=int(ident)).select_related("dataset").first()


def versions_of_dataset(*, dataset: Dataset) -> QuerySet[DatasetVersion]:
    return DatasetVersion.objects.filter(dataset=dataset).order_by("-number")


def items_of_version(*, version: DatasetVersion, split: str | None = None) -> QuerySet[VersionItem]:
    items = VersionItem.objects.filter(version=version)
    return items.filter(split=split) if split else items


def version_diff(*, base: DatasetVersion, other: DatasetVersion) -> dict:
    """Items added, removed and changed going from `base` to `other`, and those whose split moved.

    Changed means the item's snapshot differs: its image (name, kind, size, slices' hashes and
    offsets; `image_changed`) or its frozen annotation. For each changed item, the shapes and
    relations added, removed and changed, matched by id (labeling.documents.document_diff), and
    the frozen document's task status before and after. `shapes` totals them over every item:
    an added item's shapes count as added, a removed item's as removed.
    """
    before = _version_rows(base)
    after = _version_rows(other)
    common = sorted(before.keys() & after.keys())
    changes = [_item_change(i, before[i][1], after[i][1]) for i in common if before[i][1] != after[i][1]]
    moved = [{"item": i, "from": before[i][0], "to": after[i][0]} for i in common if before[i][0] != after[i][0]]
    added, removed = sorted(after.keys() - before.keys()), sorted(before.keys() - after.keys())
    totals = {
        "added": sum(len(c["shapes"]["added"]) for c in changes) + sum(_shape_count(after[i][1]) for i in added),
        "removed": sum(len(c["shapes"]["removed"]) for c in changes) + sum(_shape_count(before[i][1]) for i in removed),
        "changed": sum(len(c["shapes"]["changed"]) for c in changes),
    }
    return {
        "base": base.pk,
        "other": other.pk,
        "added": added,
        "removed": removed,
        "changed": [c["item"] for c in changes],
        "item_changes": changes,
        "split_changed": moved,
        "shapes": totals,
    }


def _item_change(item_id: int, old: dict, new: dict) -> dict:
    old_doc, new_doc = old.get("annotation") or {}, new.get("annotation") or {}
    diff = document_diff(old_doc, new_doc)
    return {
        "item": item_id,
        "name": new["name"],
        "image_changed": {k: v for k, v in old.items() if k != "annotation"}
        != {k: v for k, v in new.items() if k != "annotation"},
        "annotation_status": {"from": old_doc.get("status"), "to": new_doc.get("status")},
        "shapes": {change: [s["id"] for s in diff["shapes"][change]] for change in ("added", "removed")}
        | {"changed": [c["id"] for c in diff["shapes"]["changed"]]},
        "relations": {change: [r["id"] for r in diff["relations"][change]] for change in ("added", "removed")}
        | {"changed": [c["id"] for c in diff["relations"]["changed"]]},
    }


def _shape_count(snapshot: dict) -> int:
    return len((snapshot.get("annotation") or {}).get("shapes", []))


def _version_rows(version: DatasetVersion) -> dict[int, tuple[str, dict]]:
    rows = VersionItem.objects.filter(version=version).values_list("item_id", "split", "snapshot")
    return {item_id: (split, snapshot) for item_id, split, snapshot in rows}
