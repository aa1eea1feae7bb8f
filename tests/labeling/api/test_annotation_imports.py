"""Annotation import: Label Studio export re-imports unchanged, COCO and YOLO onto existing images,
per-record errors with their id, all or nothing, and references outside the dataset refused."""

import json

import pytest

from labeling import storage
from labeling.models import Annotation, AnnotationRevision, Task, TaskStatus
from labeling.services.datasets import dataset_create
from labeling.services.exports import export_create, export_job_run
from tests.actors import api_client_for
from tests.labeling.conftest import upload
from tests.labeling.formats.helpers import annotate, box, freeze, make_item, polygon, zip_bytes, zip_entries

pytestmark = pytest.mark.django_db

SHAPES_A = [
    box("p1", "panel", 10, 20, 50, 60),
    polygon("s1", "sfx", [[5, 5], [40, 5], [20, 30]], transcription="쾅"),
    box("t1", "text", 0, 100, 30, 20.5, transcription="hi\nthere", language="en"),
    box("c1", "character", 50, 100, 20, 20, name="Mira"),
    {"id": "f1", "class": "flashback", "type": "tag", "attributes": {}},
]
RELATIONS_A = [{"id": "r1", "type": "speaker", "from": "t1", "to": "c1"}]
SHAPES_EPISODE = [
    box("b1", "speech_bubble", 10, 250, 40, 100),
    box("p9", "panel", 0, 100, 100, 800),
    polygon("s2", "sfx", [[10, 600], [60, 610], [30, 700]]),
]


def post(user, dataset, format_name, name, data):
    return api_client_for(user).post(
        f"/api/v1/datasets/{dataset.pk}/annotation-imports/",
        {"format": format_name, "file": upload(name, data, "application/octet-stream")},
        format="multipart",
    )


def documents(dataset):
    return {
        a.task.item.name: (a.shapes, a.relations)
        for a in Annotation.objects.filter(task__dataset=dataset).select_related("task__item")
    }


def test_a_label_studio_export_reimports_into_atelier_unchanged(dataset, researcher):
    strip = make_item(dataset, [400], name="strip-a")
    episode = make_item(dataset, [300, 200, 500], name="Episode 1")
    annotate(strip, SHAPES_A, RELATIONS_A, status=TaskStatus.IN_PROGRESS)
    annotate(episode, SHAPES_EPISODE, status=TaskStatus.IN_PROGRESS)
    before = documents(dataset)
    version = freeze(dataset, researcher)
    job = export_create(version=version, user=researcher, format="label_studio", options={})
    export_job_run(export_job_id=job.pk)
    exported = zip_entries(storage.export_path(dataset_id=dataset.pk, job_id=job.pk))["tasks.json"]
    Annotation.objects.update(shapes=[], relations=[])
    response = post(researcher, dataset, "label_studio", "tasks.json", exported)
    assert response.status_code == 200, response.json()
    assert response.json() == {"items": 2, "shapes": 8, "relations": 1, "tasks_created": 0}
    assert documents(dataset) == before
    assert AnnotationRevision.objects.filter(source="import").count() == 2


def test_import_refuses_items_whose_task_is_accepted(dataset, researcher):
    annotate(make_item(dataset, [200], name="page-1"), [box("p1", "panel", 1, 2, 3, 4)])
    coco = {"images": [{"id": 1, "file_name": "page-1.png"}], "categories": [], "annotations": []}
    response = post(researcher, dataset, "coco", "c.json", json.dumps(coco).encode())
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
    response = post(researcher, dataset, "coco", "coco.json", json.dumps(coco).encode())
    assert response.status_code == 200 and response.json()["tasks_created"] == 1
    task = Task.objects.get()
    assert task.overlap_index == 0 and task.assignee is None
    assert task.annotation.shapes == [
        {"id": "coco-3", "class": "panel", "type": "box", "box": [1, 2, 30, 40], "attributes": {}}
    ]
    yolo = zip_bytes({"data.yaml": "names:\n  0: panel\n  1: text\n", "labels/train/page-1.txt": "1 0.5 0.5 0.2 0.1\n"})
    assert post(researcher, dataset, "yolo", "y.zip", yolo).status_code == 200
    task.annotation.refresh_from_db()
    assert [s["box"] for s in task.annotation.shapes] == [[40.0, 90.0, 20.0, 20.0]]


def test_per_record_errors_name_their_record_and_nothing_is_written(dataset, researcher):
    make_item(dataset, [200], name="page-1")
    make_item(dataset, [200], name="page-2")
    coco = {
        "images": [
            {"id": 1, "file_name": "page-1.png", "width": 100, "height": 200},
            {"id": 2, "file_name": "missing.png", "width": 100, "height": 200},
            {"id": 3, "file_name": "page-2.png", "width": 640, "height": 480},
        ],
        "categories": [{"id": 1, "name": "panel"}, {"id": 2, "name": "dragon"}],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]},
            {"id": 11, "image_id": 1, "category_id": 2, "bbox": [1, 2, 3, 4]},
            {"id": 12, "image_id": 1, "category_id": 9, "bbox": [1, 2, 3, 4]},
            {"id": 13, "image_id": 1, "category_id": 1, "segmentation": {"counts": "x", "size": [1, 1]}},
        ],
    }
    response = post(researcher, dataset, "coco", "coco.json", json.dumps(coco).encode())
    assert response.status_code == 400
    records = {(r["record"], r["message"]) for r in response.json()["records"]}
    assert ("image 2", "no image named 'missing.png' in this dataset") in records
    assert ("image 3", "the file says the image is 640 × 480, but 'page-2.png' is 100 × 200") in records
    assert ("annotation 12", "category_id 9 is not in the file's categories") in records
    assert ("annotation 13", "RLE masks are not imported; give polygons or a bbox") in records
    assert any(r == "image 1" and "dragon" in m for r, m in records)
    assert not Task.objects.exists() and not Annotation.objects.exists()


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
    response = post(researcher, dataset, "label_studio", "tasks.json", json.dumps(tasks).encode())
    assert response.status_code == 400
    [record] = response.json()["records"]
    assert record["record"] == "task 5" and message in record["message"]
    assert not Annotation.objects.exists()


def test_another_datasets_stored_image_is_refused(dataset, researcher, team_a):
    other = dataset_create(user=researcher, team_id=team_a.pk, name="Other")
    foreign = make_item(other, [200], name="theirs")
    make_item(dataset, [200], name="page-1")
    sha = foreign.slices.get().sha256
    coco = {"images": [{"id": 1, "file_name": f"train/{sha}.png"}], "categories": [], "annotations": []}
    response = post(researcher, dataset, "coco", "c.json", json.dumps(coco).encode())
    assert response.status_code == 400 and "another dataset" in response.json()["records"][0]["message"]


def test_archive_entries_that_climb_out_are_refused(dataset, researcher):
    make_item(dataset, [200], name="page-1")
    yolo = zip_bytes(
        {
            "data.yaml": "names: [panel]\n",
            "labels/page-1.txt": "0 0.5 0.5 0.1 0.1\n",
            "../evil.txt": "0 0.5 0.5 0.1 0.1\n",
        }
    )
    response = post(researcher, dataset, "yolo", "y.zip", yolo)
    assert response.status_code == 400 and response.json()["records"][0]["record"] == "../evil.txt"
    assert not Annotation.objects.exists()


def test_import_access_and_bad_requests(dataset, researcher, annotator, outsider):
    make_item(dataset, [200], name="page-1")
    assert post(annotator, dataset, "coco", "c.json", b"{}").status_code == 403
    assert post(outsider, dataset, "coco", "c.json", b"{}").status_code == 404
    bad_format = post(researcher, dataset, "pascal", "c.json", b"{}")
    assert bad_format.status_code == 400 and list(bad_format.json()["errors"]) == ["format"]
    not_json = post(researcher, dataset, "coco", "c.json", b"\x00nope")
    assert not_json.status_code == 400 and not_json.json()["records"][0]["message"] == "the file is not JSON (UTF-8)"
    yolo_json = post(researcher, dataset, "yolo", "c.json", b"{}")
    assert yolo_json.status_code == 400 and list(yolo_json.json()["errors"]) == ["file"]
