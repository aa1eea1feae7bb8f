"""YOLO: tiles with labels clipped to each tile, and segment labels (the writer alone, no database)."""

from labeling.formats import ExportMeta, ExportRecord, export_write, options_parse
from tests.labeling.formats.helpers import box, zip_entries


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
