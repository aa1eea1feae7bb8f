"""Reads for datasets, items and imports: plain functions, no writes."""
from django.db.models import QuerySet

from labeling import access
from labeling.models import Dataset, DatasetVersion, ImportFile, ImportJob, Item, Slice, VersionItem


def datasets_for_user(*, user) -> QuerySet[Dataset]:
    return access.datasets_visible_to(user).select_related("team").order_by("-id")


def items_of_dataset(*, dataset: Dataset, status: str | None = None, kind: str | None = None,
                     near_duplicate: bool | None = None, after_id: int | None = None) -> QuerySet[Item]:
    """Newest-first keyset pages over the (dataset, id) index: no OFFSET, no COUNT at 100,000 items."""
    items = Item.objects.filter(dataset=dataset)
    if status:
        items = items.filter(status=status)
    if kind:
        items = items.filter(kind=kind)
    if near_duplicate is not None:
        items = items.filter(near_duplicate=near_duplicate)
    if after_id is not None:
        items = items.filter(id__lt=after_id)
    return items.order_by("-id")


def first_slices_of(*, items: list[Item]) -> dict[int, Slice]:
    """The slice each grid cell shows (position 0), for a page of items, in one query."""
    slices = Slice.objects.filter(item__in=items, position=0)
    return {s.item_id: s for s in slices}


def slices_of_item(*, item: Item) -> QuerySet[Slice]:
    return Slice.objects.filter(item=item).order_by("position")


def import_files_of(*, job: ImportJob) -> QuerySet[ImportFile]:
    return ImportFile.objects.filter(job=job).order_by("position")


def import_jobs_of_dataset(*, dataset: Dataset, limit: int = 20) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(dataset=dataset).order_by("-id")[:limit]


def versions_of_dataset(*, dataset: Dataset) -> QuerySet[DatasetVersion]:
    return DatasetVersion.objects.filter(dataset=dataset).order_by("-number")


def items_of_version(*, version: DatasetVersion, split: str | None = None) -> QuerySet[VersionItem]:
    items = VersionItem.objects.filter(version=version)
    return items.filter(split=split) if split else items


def version_diff(*, base: DatasetVersion, other: DatasetVersion) -> dict:
    """Items added, removed and changed going from `base` to `other`, and those whose split moved.

    Changed means the item's snapshot differs (name, kind, size, or its slices' hashes and offsets);
    shapes join the comparison when annotations exist (issue 9).
    """
    before = _version_rows(base)
    after = _version_rows(other)
    changed = sorted(i for i in before.keys() & after.keys() if before[i][1] != after[i][1])
    moved = [{"item": i, "from": before[i][0], "to": after[i][0]}
             for i in sorted(before.keys() & after.keys()) if before[i][0] != after[i][0]]
    return {"base": base.pk, "other": other.pk, "added": sorted(after.keys() - before.keys()),
            "removed": sorted(before.keys() - after.keys()), "changed": changed, "split_changed": moved}


def _version_rows(version: DatasetVersion) -> dict[int, tuple[str, dict]]:
    rows = VersionItem.objects.filter(version=version).values_list("item_id", "split", "snapshot")
    return {item_id: (split, snapshot) for item_id, split, snapshot in rows}
