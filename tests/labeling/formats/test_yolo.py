"""YOLO: tiles with labels clipped to each tile, and segment labels (the writer alone, no database)."""

import yaml

from labeling.formats import ExportMeta, ExportRecord, export_write, options_parse
from tests.labeling.conftest import png_bytes
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


def yolo_dataset_problems(files: dict[str, bytes]) -> list[str]:
    """What a YOLO trainer would refuse, read as Ultralytics reads a dataset: data.yaml's `names` and `nc`
    agree; every split it lists is a folder of images; each image's labels are the same path under
    labels/ with .txt, each line a known class and fractions of the image."""
    config = yaml.safe_load(files["data.yaml"])
    problems = [] if config["nc"] == len(config["names"]) else ["nc and names disagree"]
    for split in ("train", "val", "test"):
        if split not in config:
            continue
        folder = f"{config['path'].rstrip('/')}/{config[split]}/".removeprefix("./")
        images = [name for name in files if name.startswith(folder) and name.endswith(".png")]
        if not images:
            problems.append(f"{split}: {folder} has no images")
        for image in images:
            label = "labels/" + image.removeprefix("images/").removesuffix(".png") + ".txt"
            if label not in files:
                problems.append(f"{image} has no {label}")
                continue
            for line in files[label].decode().splitlines():
                number, *values = line.split()
                if int(number) not in config["names"] or not all(0 <= float(v) <= 1 for v in values):
                    problems.append(f"{label}: {line!r}")
    return problems


def test_data_yaml_lists_only_the_splits_in_the_zip_and_a_yolo_reader_accepts_it(tmp_path):
    stored = {}
    records = []
    for item_id, split in ((1, "train"), (2, "test")):
        sha256 = format(item_id, "064x")
        stored[sha256] = tmp_path / f"{sha256}.png"
        stored[sha256].write_bytes(png_bytes(100, 200, seed=item_id))
        [record] = _yolo_records(height=200)
        snapshot = {**record.snapshot, "slices": [{**record.snapshot["slices"][0], "sha256": sha256}]}
        records.append(ExportRecord(item_id=item_id, split=split, snapshot=snapshot))
    options = options_parse("yolo", {"include_images": True})
    export_write(
        records=records,
        meta=META,
        options=options,
        path=tmp_path / "y.zip",
        workdir=tmp_path / "w",
        image_path=stored.__getitem__,
    )
    files = zip_entries(tmp_path / "y.zip")
    config = yaml.safe_load(files["data.yaml"])
    assert (config.get("train"), config.get("val"), config.get("test")) == ("images/train", None, "images/test")
    assert yolo_dataset_problems(files) == []
    assert not any(name.startswith(("images/val", "labels/val")) for name in files)
