"""One inference path for pre-label runs and serving: a registered detector's files load, and a strip
gives shapes in labeling's format that `predictions_record` keeps whole."""

import json

import pytest
import torch

from labeling.services.predictions import predictions_record
from tests.labeling.annotation.conftest import make_item
from training.detector.infer import detector_load, shapes_predict
from training.detector.model import CentreDetector, DetectorConfig
from training.detector.synthetic import strip

CLASSES = ("panel", "speech_bubble", "text")


@pytest.fixture
def detector_files(tmp_path):
    """An untrained detector that fires often: its heatmap bias says "something here" everywhere."""
    torch.manual_seed(0)
    config = DetectorConfig(classes=CLASSES, width=8, scale=0.25, tile_height=512, tile_overlap=256)
    model = CentreDetector(config)
    torch.nn.init.constant_(model.heatmap.bias, 2.0)
    torch.save(model.state_dict(), tmp_path / "model.pt")
    (tmp_path / "config.json").write_text(json.dumps(config.to_dict()))
    return tmp_path / "model.pt", tmp_path / "config.json"


def test_a_strip_gives_boxes_inside_it_highest_score_first_with_stable_ids(detector_files):
    detector = detector_load(checkpoint=detector_files[0], config=detector_files[1])
    image, _ = strip(3, width=480, height=1600)
    shapes = shapes_predict(detector, image, threshold=0.1)
    assert shapes, "the detector was built to fire"
    assert [s["id"] for s in shapes] == [f"p{n}" for n in range(1, len(shapes) + 1)]
    assert [s["score"] for s in shapes] == sorted((s["score"] for s in shapes), reverse=True)
    for shape in shapes:
        x, y, w, h = shape["box"]
        assert shape["type"] == "box" and shape["class"] in CLASSES and 0 < shape["score"] <= 1
        assert 0 <= x and 0 <= y and w >= 1 and h >= 1 and x + w <= 480 and y + h <= 1600
    assert shapes_predict(detector, image, threshold=0.1) == shapes  # the same picture, the same answer


def test_classes_keep_only_the_named_ones(detector_files):
    detector = detector_load(checkpoint=detector_files[0], config=detector_files[1])
    image, _ = strip(4, width=480, height=1200)
    kept = shapes_predict(detector, image, threshold=0.1, classes=["text"])
    assert kept and {s["class"] for s in kept} == {"text"}


def test_a_checkpoint_that_is_not_one_says_why(tmp_path, detector_files):
    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(Exception, match="pickle|zip|magic|load"):
        detector_load(checkpoint=tmp_path / "broken.pt", config=detector_files[1])


@pytest.mark.django_db
def test_predictions_record_keeps_every_predicted_shape(detector_files, team_a, researcher):
    from labeling.services.datasets import dataset_create

    dataset = dataset_create(user=researcher, team_id=team_a.pk, name="Strips")
    detector = detector_load(checkpoint=detector_files[0], config=detector_files[1])
    image, _ = strip(5, width=480, height=1200)
    item = make_item(dataset, heights=(1200,), width=480)
    shapes = shapes_predict(detector, image, threshold=0.1, classes=["panel", "speech_bubble"])
    recorded = predictions_record(
        item=item, run_ref="training:prelabel-run:1", model_ref="training:model-version:1", shapes=shapes
    )
    assert recorded.prediction.summary == {"kept": len(shapes), "dropped": {}, "refused": []}


def test_tiles_run_in_batches_find_what_tiles_run_one_at_a_time_find(detector_files, monkeypatch):
    """Batching is only a cost: a strip of 2.5 batches of tiles (the last batch short) gives the same boxes
    as one tile per forward pass, each in its own tile's place."""
    from training.detector import model as detector_model

    detector = detector_load(checkpoint=detector_files[0], config=detector_files[1])
    image, _ = strip(4, width=480, height=256 * (2 * detector_model.TILE_BATCH + 4) + 100)
    batched = shapes_predict(detector, image, threshold=0.1)
    monkeypatch.setattr(detector_model, "TILE_BATCH", 1)
    one_at_a_time = shapes_predict(detector, image, threshold=0.1)
    assert len(batched) == len(one_at_a_time) > 20
    for got, alone in zip(_by_place(batched), _by_place(one_at_a_time), strict=True):
        assert got["class"] == alone["class"]
        assert got["box"] == pytest.approx(alone["box"], abs=15)  # one output cell is 16 px at scale 0.25
        assert got["score"] == pytest.approx(alone["score"], abs=0.01)


def _by_place(shapes: list[dict]) -> list[dict]:
    return sorted(shapes, key=lambda s: (s["class"], round(s["box"][1] / 16), round(s["box"][0] / 16)))
