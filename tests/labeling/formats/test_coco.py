"""COCO: the export loads with pycocotools, an episode shape cut at a slice boundary keeps one group
id, the stitched layout keeps item coordinates; an import's per-record errors name their record."""

import io
import json

import pytest
from PIL import Image
from pycocotools.coco import COCO

from labeling.models import Annotation, Task
from tests.labeling.formats.helpers import make_item, post_annotation_import, run_export

pytestmark = pytest.mark.django_db


def test_coco_loads_with_pycocotools_and_its_counts_match(version, researcher, tmp_path):
    job, files = run_export(version, researcher, "coco", include_images=True)
    path = tmp_path / "train.json"
    path.write_bytes(files["annotations/instances_train.json"])
    coco = COCO(str(path))
    # 2 single images + 3 slices; 4 shapes on strip-a (the tag is on the image), bubble b1 in 2 parts,
    # the panel p9 in 3, b2 in 1.
    assert len(coco.getImgIds()) == 5
    assert len(coco.getAnnIds()) == 4 + 2 + 3 + 1 == job.counts["annotations"]
    names = {c["name"] for c in coco.loadCats(coco.getCatIds())}
    assert names == {"panel", "speech_bubble", "character", "text", "sfx"}  # the tag class is no category
    assert len(coco.getAnnIds(catIds=coco.getCatIds(catNms=["panel"]))) == 1 + 3
    for image in coco.loadImgs(coco.getImgIds()):
        assert f"images/{image['file_name']}" in files  # images zipped at the names COCO gives
    document = json.loads(files["annotations/instances_train.json"])
    sfx = next(a for a in document["annotations"] if a["atelier"]["shape"] == "s1")
    assert sfx["segmentation"] == [[5, 5, 40, 5, 20, 30]] and sfx["attributes"] == {"transcription": "쾅"}
    strip_a = next(i for i in document["images"] if i["atelier"]["tags"])
    assert strip_a["atelier"]["tags"] == [{"id": "f1", "class": "flashback", "attributes": {}}]
    [relation] = document["relations"]
    ann = {a["id"]: a["atelier"]["shape"] for a in document["annotations"]}
    assert relation["type"] == "speaker" and [ann[i] for i in relation["from"] + relation["to"]] == ["t1", "c1"]
    assert json.loads(files["annotations/instances_val.json"])["images"] == []


def test_an_episode_shape_crossing_a_boundary_splits_into_parts_with_one_group_id(version, researcher):
    _, files = run_export(version, researcher, "coco")
    document = json.loads(files["annotations/instances_train.json"])
    images = {i["id"]: i for i in document["images"]}
    parts = [a for a in document["annotations"] if a["atelier"]["shape"] == "b1"]
    assert len(parts) == 2 and parts[0]["atelier"]["group"] == parts[1]["atelier"]["group"] is not None
    by_position = {images[p["image_id"]]["atelier"]["position"]: p for p in parts}
    # Slice 0 is y 0..300: the bubble's 250..300 part; slice 1 starts at 300: its 300..350 part, local.
    assert by_position[0]["bbox"] == [10, 250, 40, 50] and by_position[1]["bbox"] == [10, 0, 40, 50]
    assert images[by_position[1]["image_id"]]["atelier"]["offset_y"] == 300  # item y = local y + offset_y
    panel = [a for a in document["annotations"] if a["atelier"]["shape"] == "p9"]
    assert len({a["atelier"]["group"] for a in panel}) == 1 and len(panel) == 3
    assert sorted(a["bbox"][3] for a in panel) == [200, 200, 400]
    alone = next(a for a in document["annotations"] if a["atelier"]["shape"] == "b2")
    assert alone["atelier"]["group"] is None and alone["bbox"] == [10, 100, 20, 20]  # slice 2 starts at 500


def test_stitched_coco_keeps_item_coordinates(version, researcher):
    _, files = run_export(version, researcher, "coco", layout="stitched", include_images=True)
    document = json.loads(files["annotations/instances_train.json"])
    episode = next(i for i in document["images"] if i["height"] == 1000)
    bubble = next(a for a in document["annotations"] if a["atelier"]["shape"] == "b1")
    assert bubble["image_id"] == episode["id"] and bubble["bbox"] == [10, 250, 40, 100]
    stitched = Image.open(io.BytesIO(files[f"images/{episode['file_name']}"]))
    assert stitched.size == (100, 1000)


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
    response = post_annotation_import(researcher, dataset, "coco", "coco.json", json.dumps(coco).encode())
    assert response.status_code == 400
    records = {(r["record"], r["message"]) for r in response.json()["records"]}
    assert ("image 2", "no image named 'missing.png' in this dataset") in records
    assert ("image 3", "the file says the image is 640 × 480, but 'page-2.png' is 100 × 200") in records
    assert ("annotation 12", "category_id 9 is not in the file's categories") in records
    assert ("annotation 13", "RLE masks are not imported; give polygons or a bbox") in records
    assert any(r == "image 1" and "dragon" in m for r, m in records)
    assert not Task.objects.exists() and not Annotation.objects.exists()
