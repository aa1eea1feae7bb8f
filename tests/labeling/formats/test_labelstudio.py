"""Label Studio: the export's tasks and labeling config, and an export that re-imports into Atelier
unchanged."""

import json
import xml.etree.ElementTree as ElementTree

import pytest

from labeling import storage
from labeling.models import Annotation, AnnotationRevision, TaskStatus
from labeling.services.exports import export_create, export_job_run
from tests.labeling.formats.helpers import (
    annotate,
    box,
    freeze,
    make_item,
    polygon,
    post_annotation_import,
    run_export,
    zip_entries,
)

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


def documents(dataset):
    return {
        a.task.item.name: (a.shapes, a.relations)
        for a in Annotation.objects.filter(task__dataset=dataset).select_related("task__item")
    }


def test_label_studio_tasks_and_config(version, researcher):
    _, files = run_export(version, researcher, "label_studio", image_url_prefix="/data/local-files/?d=")
    tasks = json.loads(files["tasks.json"])
    assert len(tasks) == 5
    first = next(
        t for t in tasks if t.get("annotations") and any(r["id"] == "p1" for r in t["annotations"][0]["result"])
    )
    assert first["data"]["image"].startswith("/data/local-files/?d=images/train/")
    region = next(r for r in first["annotations"][0]["result"] if r["id"] == "p1")
    assert region["type"] == "rectanglelabels" and region["value"]["rectanglelabels"] == ["panel"]
    assert region["value"]["x"] == 10 and region["value"]["height"] == 15  # percent of 100 x 400
    assert any(r["type"] == "relation" for r in first["annotations"][0]["result"])
    config = ElementTree.fromstring(files["label_config.xml"])
    assert config.find("RectangleLabels") is not None and config.find("Relations") is not None


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
    response = post_annotation_import(researcher, dataset, "label_studio", "tasks.json", exported)
    assert response.status_code == 200, response.json()
    assert response.json() == {"items": 2, "shapes": 8, "relations": 1, "tasks_created": 0}
    assert documents(dataset) == before
    assert AnnotationRevision.objects.filter(source="import").count() == 2
