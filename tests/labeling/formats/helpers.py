"""Building versions with annotations, exporting them and posting annotation imports, for the format,
export and import tests (rows written directly)."""

import io
import zipfile

from django.utils import timezone

from labeling import storage
from labeling.models import Annotation, ExportState, Item, Slice, Task, TaskStatus
from labeling.services.exports import export_create, export_job_run
from labeling.services.versions import version_create
from tests.actors import api_client_for
from tests.labeling.conftest import png_bytes, upload


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


def annotated_version(dataset, user):
    """Two single images and an episode of 3 slices (300 + 200 + 500 px) whose speech bubble crosses
    the first boundary (y 250..350) and whose panel spans all three."""
    first = make_item(dataset, [400], name="strip-a", store=True, seed=1)
    annotate(
        first,
        [
            box("p1", "panel", 10, 20, 50, 60),
            polygon("s1", "sfx", [[5, 5], [40, 5], [20, 30]], transcription="쾅"),
            box("t1", "text", 0, 100, 30, 20, transcription="hi", language="en"),
            box("c1", "character", 50, 100, 20, 20, name="Mira"),
            {"id": "f1", "class": "flashback", "type": "tag", "attributes": {}},
        ],
        [{"id": "r1", "type": "speaker", "from": "t1", "to": "c1"}],
    )
    make_item(dataset, [200], name="strip-b", store=True, seed=2)  # no annotation
    episode = make_item(dataset, [300, 200, 500], name="Episode 1", store=True, seed=3)
    annotate(
        episode,
        [
            box("b1", "speech_bubble", 10, 250, 40, 100),
            box("p9", "panel", 0, 100, 100, 800),
            box("b2", "speech_bubble", 10, 600, 20, 20),
        ],
    )
    return freeze(dataset, user)


def run_export(version, user, format_name, **options):
    job = export_create(version=version, user=user, format=format_name, options=options)
    export_job_run(export_job_id=job.pk)
    job.refresh_from_db()
    assert job.state == ExportState.SUCCEEDED, job.error
    return job, zip_entries(storage.export_path(dataset_id=job.dataset_id, job_id=job.pk))


def post_annotation_import(user, dataset, format_name, name, data):
    return api_client_for(user).post(
        f"/api/v1/datasets/{dataset.pk}/annotation-imports/",
        {"format": format_name, "file": upload(name, data, "application/octet-stream")},
        format="multipart",
    )
