"""The pre-label job's JSONL, read by the ingest (new complete lines after an offset) and by the job
itself (which items a previous attempt finished)."""

import json

import pytest
import torch

from training.detector.lines import items_done, lines_read
from training.detector.model import CentreDetector, DetectorConfig
from training.detector.prelabel import run
from training.detector.synthetic import strip


def line(item, shapes=()):
    return json.dumps({"item": item, "shapes": list(shapes)}) + "\n"


def test_lines_after_an_offset_and_a_partial_last_line_left_for_later(tmp_path):
    path = tmp_path / "predictions.jsonl"
    path.write_text(line(1) + line(2) + '{"item": 3, "sha')
    first = lines_read(path)
    assert [r["item"] for r in first.records] == [1, 2]
    assert first.offset == len(line(1) + line(2))
    assert lines_read(path, offset=first.offset).records == []  # the cut line is not read yet
    with open(path, "a") as sink:
        sink.write('pes": []}\n' + line(4))
    second = lines_read(path, offset=first.offset)
    assert [r["item"] for r in second.records] == [3, 4] and second.offset == path.stat().st_size


def test_lines_that_are_not_records_are_counted_and_skipped(tmp_path):
    path = tmp_path / "predictions.jsonl"
    path.write_text("not json\n" + '{"item": "x", "shapes": []}\n' + "[1]\n" + line(5))
    read = lines_read(path)
    assert ([r["item"] for r in read.records], read.bad_lines) == ([5], 3)


def test_a_missing_file_reads_nothing(tmp_path):
    read = lines_read(tmp_path / "absent.jsonl", offset=0)
    assert (read.records, read.offset) == ([], 0)
    assert items_done(tmp_path / "absent.jsonl") == (set(), 0)


@pytest.fixture
def staged(tmp_path):
    """A staged folder as prelabel_run_start writes it: a tiny untrained detector, two strips, a manifest."""
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    torch.manual_seed(0)
    config = DetectorConfig(classes=("panel", "text"), width=8, scale=0.25, tile_height=512, tile_overlap=256)
    model = CentreDetector(config)
    torch.nn.init.constant_(model.heatmap.bias, 2.0)
    torch.save(model.state_dict(), data / "model.pt")
    (data / "config.json").write_text(json.dumps(config.to_dict()))
    items = []
    for number in (11, 12):
        image, _ = strip(number, width=480, height=1600)
        top, bottom = image.crop((0, 0, 480, 800)), image.crop((0, 800, 480, 1600))
        top.save(data / "images" / f"{number}-0.png")
        bottom.save(data / "images" / f"{number}-1.png")
        slices = [
            {"file": f"images/{number}-0.png", "offset_y": 0},
            {"file": f"images/{number}-1.png", "offset_y": 800},
        ]
        items.append({"item": number, "width": 480, "height": 1600, "slices": slices})
    (data / "manifest.json").write_text(json.dumps({"threshold": 0.1, "classes": [], "items": items}))
    return data


def test_the_job_writes_a_line_per_item_and_a_second_attempt_resumes(staged, tmp_path):
    output = tmp_path / "out"
    output.mkdir()
    path = output / "predictions.jsonl"
    path.write_text(line(11, [{"from": "the first attempt"}]) + '{"item": 12, "sh')  # crashed mid-line
    assert run(staged, output) == 0
    records = lines_read(path).records
    assert [r["item"] for r in records] == [11, 12]
    assert records[0]["shapes"] == [{"from": "the first attempt"}]  # not predicted again
    assert records[1]["shapes"] and all(0 <= s["box"][1] < 1600 for s in records[1]["shapes"])
    assert run(staged, output) == 0  # everything done: nothing appended
    assert [r["item"] for r in lines_read(path).records] == [11, 12]


def test_a_checkpoint_that_does_not_load_exits_non_zero_with_the_loaders_message(staged, tmp_path, capsys):
    (staged / "model.pt").write_bytes(b"not a checkpoint")
    output = tmp_path / "out"
    assert run(staged, output) == 2
    err = capsys.readouterr().err
    assert err.startswith("The checkpoint does not load:") and len(err) > 40
    assert (output / "load-error.txt").read_text().strip() == err.strip()
    assert not (output / "predictions.jsonl").exists()
