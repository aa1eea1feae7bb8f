"""Items to annotate without image files (the annotation API never reads pixels), and their tasks."""

import pytest

from labeling.models import Item, ItemKind, Slice, SliceSource


def make_item(dataset, *, name: str = "strip", heights=(20_000,), width: int = 800) -> Item:
    """An image (one height) or an episode (several) with slice rows at their offsets."""
    kind = ItemKind.EPISODE if len(heights) > 1 else ItemKind.IMAGE
    item = Item.objects.create(
        dataset=dataset, kind=kind, name=name, width=width, height=sum(heights), slice_count=len(heights)
    )
    offset = 0
    for position, height in enumerate(heights):
        Slice.objects.create(
            dataset=dataset,
            item=item,
            position=position,
            offset_y=offset,
            width=width,
            height=height,
            sha256=f"{item.pk:032d}{position:032d}",
            perceptual_hash="0" * 16,
            byte_size=1,
            source=SliceSource.UPLOAD,
            source_format="png",
            original_name=f"{name}-{position}.png",
            original_byte_size=1,
            thumbnail_width=1,
            thumbnail_height=1,
        )
        offset += height
    return item


@pytest.fixture
def strip(dataset):
    return make_item(dataset)


@pytest.fixture
def task(dataset, strip, researcher, annotator):
    """Team A's strip, one task, assigned to the annotator."""
    from labeling.services.annotation_tasks import task_assign, tasks_create

    tasks_create(dataset=dataset, user=researcher)
    return task_assign(task=strip.tasks.get(), user=researcher, assignee=annotator)


def box(shape_id: str, x: float, y: float, w: float, h: float, cls: str = "panel", **attributes) -> dict:
    return {"id": shape_id, "class": cls, "type": "box", "box": [x, y, w, h], "attributes": attributes}
