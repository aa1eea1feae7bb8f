"""The export writers on frozen versions: COCO through pycocotools, episode parts with one group id,
YOLO tiles with clipped labels, VOC through xml.etree, Label Studio's shape; run through the job."""

import json
import xml.etree.ElementTree as ElementTree

import pytest
from pycocotools.coco import COCO

from labeling import storage
from labeling.formats import ExportMeta, ExportRecord, export_write, options_parse
from labeling.models import ExportState
from labeling.services.exports import export_create, export_job_run, export_meta, version_records
from tests.labeling.formats.helpers import annotate, box, freeze, make_item, polygon, zip_entries

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(dataset, researcher):
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
    return freeze(dataset, researcher)


def run(version, user, format_name, **options):
    job = export_create(version=version, user=user, format=format_name, options=options)
    export_job_run(export_job_id=job.pk)
    job.refresh_from_db()
    assert job.state == ExportState.SUCCEEDED, job.error
    return job, zip_entries(storage.export_path(dataset_id=job.dataset_id, job_id=job.pk))


def test_coco_loads_with_pycocotools_and_its_counts_match(version, researcher, tmp_path):
    job, files = run(version, researcher, "coco", include_images=True)
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
    _, files = run(version, researcher, "coco")
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
    _, files = run(version, researcher, "coco", layout="stitched", include_images=True)
    document = json.loads(files["annotations/instances_train.json"])
    episode = next(i for i in document["images"] if i["height"] == 1000)
    bubble = next(a for a in document["annotations"] if a["atelier"]["shape"] == "b1")
    assert bubble["image_id"] == episode["id"] and bubble["bbox"] == [10, 250, 40, 100]
    import io

    from PIL import Image

    stitched = Image.open(io.BytesIO(files[f"images/{episode['file_name']}"]))
    assert stitched.size == (100, 1000)


def _yolo_records(height=1000):
    shapes = [box("a", "panel", 10, 90, 20, 40), box("b", "panel", 0, 0, 100, 250), box("c", "panel", 50, 100, 10, 0.5)]
    snapshot = {
        "kind": "image",
        "name": "x",
        "width": 100,
        "height": height,
        "slices": [{"position": 0, "offset_y": 0, "width": 100, "height": height, "sha256": "f" * 64, "phash": "0"}],
        "annotation": {"task": 1, "status": "accepted", "version": 1, "shapes": shapes, "relations": []},
    }
    return [ExportRecord(item_id=1, split="train", snapshot=snapshot)]


META = ExportMeta(
    dataset="d",
    version=1,
    content_hash="h",
    created="2026-11-23T00:00:00+00:00",
    classes=[{"name": "panel", "shapes": ["box"], "attributes": []}],
)


def test_yolo_slicing_clips_boxes_to_each_tile(tmp_path):
    options = options_parse("yolo", {"tile_height": 100})
    counts = export_write(
        records=_yolo_records(), meta=META, options=options, path=tmp_path / "y.zip", workdir=tmp_path / "w"
    )
    files = zip_entries(tmp_path / "y.zip")
    labels = {name.rsplit("/", 1)[-1]: data.decode() for name, data in files.items() if name.startswith("labels/")}
    assert len(labels) == 10 and counts.images == 10
    stem = "f" * 64
    # Box a (y 90..130) is cut at 100: 10 px in tile 0, 30 px in tile 1, normalized to a 100 px tile.
    assert labels[f"{stem}_t000.txt"].splitlines() == [
        "0 0.200000 0.950000 0.200000 0.100000",
        "0 0.500000 0.500000 1.000000 1.000000",
    ]
    assert labels[f"{stem}_t001.txt"].splitlines()[0] == "0 0.200000 0.150000 0.200000 0.300000"
    # Box b (0..250) covers tiles 0, 1 and half of 2; box c (0.5 px tall at y 100) lands in tile 1 only.
    assert labels[f"{stem}_t002.txt"].splitlines() == ["0 0.500000 0.250000 1.000000 0.500000"]
    assert len(labels[f"{stem}_t001.txt"].splitlines()) == 3
    assert all(labels[f"{stem}_t{n:03d}.txt"] == "" for n in range(3, 10))
    data_yaml = files["data.yaml"].decode()
    assert "train: images/train" in data_yaml and '0: "panel"' in data_yaml and "nc: 1" in data_yaml


def test_yolo_without_tiles_and_segment_labels(tmp_path):
    options = options_parse("yolo", {"task": "segment"})
    export_write(records=_yolo_records(), meta=META, options=options, path=tmp_path / "y.zip", workdir=tmp_path / "w")
    label = zip_entries(tmp_path / "y.zip")[f"labels/train/{'f' * 64}.txt"].decode().splitlines()[0]
    assert label == "0 0.100000 0.090000 0.300000 0.090000 0.300000 0.130000 0.100000 0.130000"


def test_voc_parses_with_xml_etree(version, researcher):
    _, files = run(version, researcher, "voc")
    xmls = {name: ElementTree.fromstring(data) for name, data in files.items() if name.startswith("Annotations/")}
    assert len(xmls) == 5
    objects = [o for root in xmls.values() for o in root.iter("object")]
    assert len(objects) == 10
    bubble = [o for o in objects if o.find("atelier/shape").text == "b1"]
    assert {o.find("atelier/group").text for o in bubble} != {""} and len(
        {o.find("atelier/group").text for o in bubble}
    ) == 1
    sfx = next(o for o in objects if o.find("name").text == "sfx")
    assert [sfx.find(f"bndbox/{k}").text for k in ("xmin", "ymin", "xmax", "ymax")] == ["5", "5", "40", "30"]
    assert len(sfx.findall("polygon/pt")) == 3
    assert files["ImageSets/Main/train.txt"].decode().count("\n") == 5


def test_label_studio_tasks_and_config(version, researcher):
    _, files = run(version, researcher, "label_studio", image_url_prefix="/data/local-files/?d=")
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


def test_a_missing_image_fails_the_job_with_a_reason(version, researcher):
    for path in storage.dataset_root(dataset_id=version.dataset_id).joinpath("images").iterdir():
        path.unlink()
        break
    job = export_create(version=version, user=researcher, format="coco", options={"include_images": True})
    export_job_run(export_job_id=job.pk)
    job.refresh_from_db()
    assert job.state == ExportState.FAILED and "is missing" in job.error
    export_job_run(export_job_id=job.pk)  # a re-delivery of finished work changes nothing
    assert not storage.export_workdir(dataset_id=job.dataset_id, job_id=job.pk).exists()


def test_records_and_meta_come_from_the_frozen_version(version):
    records = list(version_records(version))
    assert len(records) == 3 and {r.split for r in records} == {"train"}
    assert "flashback" in [c["name"] for c in export_meta(version).classes]
