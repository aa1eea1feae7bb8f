"""Annotation imports match images by content within the team: an export of one dataset imports into
any dataset of the team holding the same pictures, and another team learns nothing from the answer
about pictures it does not hold."""

import json

import pytest

from labeling import storage
from labeling.models import Item, Slice, Task, TaskStatus
from labeling.services.annotation_imports import NO_MATCH
from labeling.services.datasets import dataset_create
from labeling.services.exports import export_create, export_job_run
from tests.labeling.formats.helpers import (
    annotate,
    box,
    freeze,
    make_item,
    post_annotation_import,
    zip_bytes,
    zip_entries,
)

pytestmark = pytest.mark.django_db

SHAPES = [box("b1", "speech_bubble", 10, 250, 40, 100), box("p1", "panel", 0, 20, 90, 60)]


def same_pictures(item: Item, dataset) -> Item:
    """A copy of `item` in `dataset`: the same slices (content hashes) at the same offsets."""
    copy = Item.objects.create(
        dataset=dataset,
        kind=item.kind,
        name=f"copy of {item.name}",
        width=item.width,
        height=item.height,
        slice_count=item.slice_count,
    )
    for source in item.slices.all():
        source.pk, source.dataset, source.item = None, dataset, copy
        source.save()
    return copy


def exported(dataset, user, format_name, **options) -> bytes:
    job = export_create(version=freeze(dataset, user), user=user, format=format_name, options=options)
    export_job_run(export_job_id=job.pk)
    return zip_bytes(zip_entries(storage.export_path(dataset_id=dataset.pk, job_id=job.pk)))


@pytest.fixture
def source(dataset):
    episode = make_item(dataset, [300, 200, 500], name="Episode 1")
    annotate(episode, SHAPES, status=TaskStatus.IN_PROGRESS)
    return episode


@pytest.mark.parametrize("layout", ["slices", "stitched"])
@pytest.mark.parametrize("format_name", ["coco", "label_studio", "yolo"])
def test_an_export_imports_into_another_dataset_of_the_team_holding_the_same_pictures(
    dataset, researcher, team_a, source, format_name, layout
):
    archive = exported(dataset, researcher, format_name, layout=layout)
    target = dataset_create(user=researcher, team_id=team_a.pk, name="Relabel")
    copy = same_pictures(source, target)
    response = post_annotation_import(researcher, target, format_name, "export.zip", archive)
    assert response.status_code == 200, response.json()
    shapes = Task.objects.get(item=copy).annotation.shapes
    expected = [(s["class"], s["box"]) for s in SHAPES]
    if (format_name, layout) == ("yolo", "slices"):  # YOLO has no group ids: the cut bubble comes back as its parts
        expected[0:1] = [("speech_bubble", [10, 250, 40, 50]), ("speech_bubble", [10, 300, 40, 50])]
    assert sorted((s["class"], [round(v, 3) for v in s["box"]]) for s in shapes) == sorted(expected)


def test_re_importing_onto_the_source_works_when_another_team_holds_the_same_pictures(
    dataset, researcher, team_b, outsider, source
):
    archive = exported(dataset, researcher, "coco")
    same_pictures(source, dataset_create(user=outsider, team_id=team_b.pk, name="Theirs"))
    response = post_annotation_import(researcher, dataset, "coco", "export.zip", archive)
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("layout", ["slices", "stitched"])
def test_a_name_matching_two_images_of_the_target_is_refused_as_ambiguous(dataset, researcher, team_a, source, layout):
    archive = exported(dataset, researcher, "coco", layout=layout)
    target = dataset_create(user=researcher, team_id=team_a.pk, name="Twice")
    same_pictures(source, target)
    # Another image whose own name is the export's name for the episode's first image.
    first = source.slices.first().sha256 if layout == "slices" else f"item-{source.pk}"
    make_item(target, [100], name=first)
    response = post_annotation_import(researcher, target, "coco", "export.zip", archive)
    assert response.status_code == 400
    messages = [r["message"] for r in response.json()["records"]]
    assert f"'{first}.png' names 2 images of this dataset; use the stored name (<sha256>.png)" in messages


def test_another_team_learns_nothing_about_pictures_it_does_not_hold(dataset, researcher, team_b, outsider, source):
    theirs = dataset_create(user=outsider, team_id=team_b.pk, name="Theirs")
    make_item(theirs, [200], name="page-1")
    existing = source.slices.first().sha256
    answers = {}
    for reference in (f"train/{existing}.png", f"train/{'0' * 64}.png", f"item-{source.pk}.png", "item-999999.png"):
        coco = {"images": [{"id": 1, "file_name": reference}], "categories": [], "annotations": []}
        response = post_annotation_import(outsider, theirs, "coco", "c.json", json.dumps(coco).encode())
        assert response.status_code == 400
        name = reference.rsplit("/", 1)[-1]
        answers[reference] = response.json()["records"][0]["message"].replace(name, "<name>")
    assert set(answers.values()) == {NO_MATCH.format(name="<name>")}
    assert Slice.objects.filter(dataset=theirs).count() == 1
