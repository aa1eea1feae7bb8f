"""POST /api/v1/datasets/{id}/annotation-imports/: COCO and YOLO onto existing images by file name,
all or nothing, accepted tasks and references outside the dataset refused, access. What each format
reads is tested beside its writer (tests/labeling/formats/)."""

import json

import pytest

from labeling import storage
from labeling.models import Annotation, Task, TaskStatus
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


def test_import_refuses_items_whose_task_is_accepted(dataset, researcher):
    annotate(make_item(dataset, [200], name="page-1"), [box("p1", "panel", 1, 2, 3, 4)])
    coco = {"images": [{"id": 1, "file_name": "page-1.png"}], "categories": [], "annotations": []}
    response = post_annotation_import(researcher, dataset, "coco", "c.json", json.dumps(coco).encode())
    assert response.status_code == 400
    assert response.json()["records"] == [
        {
            "record": "image 1",
            "message": "item %d's task is accepted: its annotation can no longer change" % Task.objects.get().item_id,
        }
    ]


def test_coco_and_yolo_import_onto_images_by_file_name_and_make_missing_tasks(dataset, researcher):
    make_item(dataset, [200], name="page-1")
    coco = {
        "images": [{"id": 7, "file_name": "scans/page-1.png", "width": 100, "height": 200}],
        "categories": [{"id": 1, "name": "panel"}],
        "annotations": [{"id": 3, "image_id": 7, "category_id": 1, "bbox": [1, 2, 30, 40]}],
    }
    response = post_annotation_import(researcher, dataset, "coco", "coco.json", json.dumps(coco).encode())
    assert response.status_code == 200 and response.json()["tasks_created"] == 1
    task = Task.objects.get()
    assert task.overlap_index == 0 and task.assignee is None
    assert task.annotation.shapes == [
        {"id": "coco-3", "class": "panel", "type": "box", "box": [1, 2, 30, 40], "attributes": {}}
    ]
    yolo = zip_bytes({"data.yaml": "names:\n  0: panel\n  1: text\n", "labels/train/page-1.txt": "1 0.5 0.5 0.2 0.1\n"})
    assert post_annotation_import(researcher, dataset, "yolo", "y.zip", yolo).status_code == 200
    task.annotation.refresh_from_db()
    assert [s["box"] for s in task.annotation.shapes] == [[40.0, 90.0, 20.0, 20.0]]


@pytest.mark.parametrize(
    "reference, message",
    [
        ("../other/page-1.png", "climbs out of its folder"),
        ("/etc/passwd", "absolute path"),
        ("C:\\data\\page-1.png", "absolute path"),
        ("https://example.com/page-1.png", "is a URL"),
        ("/data/local-files/?d=../../page-1.png", "climbs out of its folder"),
        ("media/datasets/999/images/page-1.png", "another dataset"),
    ],
)
def test_references_outside_the_dataset_are_refused(dataset, researcher, reference, message):
    make_item(dataset, [200], name="page-1")
    tasks = [
        {
            "id": 5,
            "data": {"image": reference},
            "annotations": [
                {
                    "result": [
                        {
                            "id": "x",
                            "type": "rectanglelabels",
                            "from_name": "box",
                            "to_name": "image",
                            "value": {"x": 1, "y": 1, "width": 10, "height": 10, "rectanglelabels": ["panel"]},
                        }
                    ]
                }
            ],
        }
    ]
    response = post_annotation_import(researcher, dataset, "label_studio", "tasks.json", json.dumps(tasks).encode())
    assert response.status_code == 400
    [record] = response.json()["records"]
    assert record["record"] == "task 5" and message in record["message"]
    assert not Annotation.objects.exists()


def test_a_picture_only_another_dataset_holds_is_not_in_this_one(dataset, researcher, team_a):
    other = dataset_create(user=researcher, team_id=team_a.pk, name="Other")
    foreign = make_item(other, [200], name="theirs")
    make_item(dataset, [200], name="page-1")
    sha = foreign.slices.get().sha256
    coco = {"images": [{"id": 1, "file_name": f"train/{sha}.png"}], "categories": [], "annotations": []}
    response = post_annotation_import(researcher, dataset, "coco", "c.json", json.dumps(coco).encode())
    assert response.status_code == 400
    assert response.json()["records"][0]["message"] == NO_MATCH.format(name=f"{sha}.png")


def test_archive_entries_that_climb_out_are_refused(dataset, researcher):
    make_item(dataset, [200], name="page-1")
    yolo = zip_bytes(
        {
            "data.yaml": "names: [panel]\n",
            "labels/page-1.txt": "0 0.5 0.5 0.1 0.1\n",
            "../evil.txt": "0 0.5 0.5 0.1 0.1\n",
        }
    )
    response = post_annotation_import(researcher, dataset, "yolo", "y.zip", yolo)
    assert response.status_code == 400 and response.json()["records"][0]["record"] == "../evil.txt"
    assert not Annotation.objects.exists()


def test_import_access_and_bad_requests(dataset, researcher, annotator, outsider):
    make_item(dataset, [200], name="page-1")
    assert post_annotation_import(annotator, dataset, "coco", "c.json", b"{}").status_code == 403
    assert post_annotation_import(outsider, dataset, "coco", "c.json", b"{}").status_code == 404
    bad_format = post_annotation_import(researcher, dataset, "pascal", "c.json", b"{}")
    assert bad_format.status_code == 400 and list(bad_format.json()["errors"]) == ["format"]
    not_json = post_annotation_import(researcher, dataset, "coco", "c.json", b"\x00nope")
    assert not_json.status_code == 400 and not_json.json()["records"][0]["message"] == "the file is not JSON (UTF-8)"
    yolo_json = post_annotation_import(researcher, dataset, "yolo", "c.json", b"{}")
    assert yolo_json.status_code == 400 and list(yolo_json.json()["errors"]) == ["file"]


def test_a_yolo_episode_export_comes_back_with_every_shape(dataset, researcher):
    """Line numbers repeat in every slice's label file: shapes are told apart per file and line."""
    episode = make_item(dataset, [300, 200, 500], name="Episode 1")
    annotate(
        episode,
        [
            box("t1", "text", 10, 20, 30, 30),
            box("c1", "character", 10, 320, 30, 30),
            box("s1", "text", 10, 600, 30, 30),
            box("c2", "character", 50, 610, 30, 30),
            box("p1", "panel", 60, 20, 30, 30),
        ],
        status=TaskStatus.IN_PROGRESS,
    )
    version = freeze(dataset, researcher)
    job = export_create(version=version, user=researcher, format="yolo", options={})
    export_job_run(export_job_id=job.pk)
    exported = zip_entries(storage.export_path(dataset_id=dataset.pk, job_id=job.pk))
    response = post_annotation_import(researcher, dataset, "yolo", "y.zip", zip_bytes(exported))
    assert response.status_code == 200, response.json()
    shapes = Task.objects.get(item=episode).annotation.shapes
    assert sorted((s["class"], [round(v) for v in s["box"]]) for s in shapes) == [
        ("character", [10, 320, 30, 30]),
        ("character", [50, 610, 30, 30]),
        ("panel", [60, 20, 30, 30]),
        ("text", [10, 20, 30, 30]),
        ("text", [10, 600, 30, 30]),
    ]
    assert len({s["id"] for s in shapes}) == 5


def test_macos_junk_in_a_yolo_zip_is_ignored(dataset, researcher):
    make_item(dataset, [200], name="page-1")
    yolo = zip_bytes(
        {
            "data.yaml": "names: [panel]\n",
            "labels/page-1.txt": "0 0.5 0.5 0.1 0.1\n",
            "__MACOSX/labels/._page-1.txt": b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X",
            "labels/.DS_Store": b"Bud1\x00\x00\x00",
        }
    )
    response = post_annotation_import(researcher, dataset, "yolo", "y.zip", yolo)
    assert response.status_code == 200, response.json()
    assert response.json()["shapes"] == 1
