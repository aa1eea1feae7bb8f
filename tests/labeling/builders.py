"""Rows for grid, filter and version tests, made directly (no image files, no annotation service):
items with slices, tasks with saved documents, and the ItemClass rows the annotation service keeps."""

import itertools

from django.utils import timezone

from labeling.models import Annotation, Item, ItemClass, Slice, Task

_hashes = itertools.count(1)


def make_item(
    dataset, *, name: str, status: str = "new", near_duplicate: bool = False, heights=(400,), kind: str = "image"
) -> Item:
    item = Item.objects.create(
        dataset=dataset,
        kind=kind,
        name=name,
        status=status,
        near_duplicate=near_duplicate,
        width=100,
        height=sum(heights),
        slice_count=len(heights),
    )
    offset = 0
    for position, height in enumerate(heights):
        number = next(_hashes)
        Slice.objects.create(
            dataset=dataset,
            item=item,
            position=position,
            offset_y=offset,
            width=100,
            height=height,
            sha256=f"{number:064x}",
            perceptual_hash=f"{number * 0x9E3779B97F4A7C15 % 2**64:016x}",
            byte_size=1,
            source="upload",
            source_format="PNG",
            original_name=f"{name}.png",
            original_byte_size=1,
            thumbnail_width=1,
            thumbnail_height=1,
        )
        offset += height
    return item


def make_task(item, *, assignee=None, status: str = "new", shapes=None, relations=None, overlap_index: int = 0) -> Task:
    """A task, with a saved document when `shapes` is given; ItemClass rows follow the item's documents."""
    task = Task.objects.create(
        dataset=item.dataset, item=item, assignee=assignee, status=status, overlap_index=overlap_index
    )
    if shapes is not None:
        save_document(task, shapes=shapes, relations=relations or [])
    return task


def save_document(task: Task, *, shapes, relations=(), status: str | None = None) -> None:
    annotation, _ = Annotation.objects.get_or_create(task=task)
    annotation.version += 1
    annotation.shapes, annotation.relations = list(shapes), list(relations)
    annotation.updated_at = timezone.now()
    annotation.save()
    if status:
        Task.objects.filter(pk=task.pk).update(status=status)
    used = {s["class"] for a in Annotation.objects.filter(task__item=task.item) for s in a.shapes}
    ItemClass.objects.filter(item=task.item).exclude(class_name__in=used).delete()
    for name in used:
        ItemClass.objects.get_or_create(dataset=task.dataset, item=task.item, class_name=name)


def box(shape_id: str, cls: str, x: float = 0, y: float = 0, w: float = 10, h: float = 10, **attributes) -> dict:
    return {"id": shape_id, "class": cls, "type": "box", "box": [x, y, w, h], "attributes": attributes}


def tag(shape_id: str, cls: str) -> dict:
    return {"id": shape_id, "class": cls, "type": "tag", "attributes": {}}
