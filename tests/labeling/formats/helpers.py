"""Building versions with annotations for the export and import tests (rows written directly)."""

import io
import zipfile

from django.utils import timezone

from labeling.models import Annotation, Item, Slice, Task, TaskStatus
from labeling.services.versions import version_create
from tests.labeling.conftest import png_bytes


def make_item(dataset, heights, *, name, width=100, kind=None, store=False, seed=0):
    """An item whose slices are real PNGs on disk when `store` (for include_images)."""
    from hashlib import sha256

    from labeling import storage

    kind = kind or ("episode" if len(heights) > 1 else "image")
    item = Item.objects.create(
        dataset=dataset, kind=kind, name=name, width=width, height=sum(heights), slice_count=len(heights)
    )
    offset = 0
    for position, height in enumerate(heights):
        data = png_bytes(width, height, seed=seed * 10 + position)
        digest = sha256(data + f"{item.pk}:{position}".encode()).hexdigest()
        if store:
            path = storage.image_path(dataset_id=dataset.pk, sha256=digest)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        Slice.objects.create(
            dataset=dataset,
            item=item,
            position=position,
            offset_y=offset,
            width=width,
            height=height,
            sha256=digest,
            perceptual_hash=f"{position:016x}",
            byte_size=len(data),
            source="upload",
            source_format="PNG",
            original_name=f"{name}-{position}.png" if len(heights) > 1 else f"{name}.png",
            original_byte_size=len(data),
            thumbnail_width=1,
            thumbnail_height=1,
        )
        offset += height
    return item


def annotate(item, shapes, relations=(), status=TaskStatus.ACCEPTED):
    task = Task.objects.create(dataset=item.dataset, item=item, overlap_index=0, status=status)
    Annotation.objects.create(
        task=task, version=1, shapes=list(shapes), relations=list(relations), updated_at=timezone.now()
    )
    return task


def box(shape_id, klass, x, y, w, h, **attributes):
    return {"id": shape_id, "class": klass, "type": "box", "box": [x, y, w, h], "attributes": attributes}


def polygon(shape_id, klass, points, **attributes):
    return {"id": shape_id, "class": klass, "type": "polygon", "points": points, "attributes": attributes}


def freeze(dataset, user, train_only=True):
    ratios = {"train": 1.0, "val": 0.0, "test": 0.0} if train_only else None
    return version_create(dataset=dataset, user=user, seed=1, ratios=ratios)


def zip_entries(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zip_bytes(entries: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()
