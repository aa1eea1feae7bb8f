"""The pre-label job (docs/models.md "Pre-label runs"): `python -m training.detector.prelabel`.

Reads `manifest.json` in ATELIER_INPUT_DATA (the staged folder: `model.pt`, `config.json`, the items'
images), predicts each item with `training.detector.infer` and appends one line per item to
`predictions.jsonl` under ATELIER_OUTPUT_DIR, flushed per item. An episode's slices are stacked into one
image at their offsets before predicting, so boxes across slice borders merge and coordinates are the
item's. A requeued attempt skips the items already in the file. A checkpoint that does not load: exit 2
with the loader's message on stderr. No Django here.
"""

import json
import os
import sys
from pathlib import Path

from training.detector.lines import LOAD_ERROR_FILE, MANIFEST_FILE, PREDICTIONS_FILE, items_done


def item_image(data: Path, entry: dict):
    from PIL import Image

    slices = entry["slices"]
    if len(slices) == 1:
        with Image.open(data / slices[0]["file"]) as image:
            return image.convert("RGB")
    canvas = Image.new("RGB", (int(entry["width"]), int(entry["height"])))
    for part in slices:
        with Image.open(data / part["file"]) as image:
            canvas.paste(image.convert("RGB"), (0, int(part["offset_y"])))
    return canvas


def run(data: Path, output: Path, *, err=None) -> int:
    from training.detector.infer import detector_load, shapes_predict

    manifest = json.loads((data / MANIFEST_FILE).read_text())
    try:
        detector = detector_load(checkpoint=data / "model.pt", config=data / "config.json")
    except Exception as refused:
        message = f"The checkpoint does not load: {refused}"
        print(message, file=err or sys.stderr)
        output.mkdir(parents=True, exist_ok=True)
        (output / LOAD_ERROR_FILE).write_text(message + "\n")
        return 2
    threads = os.environ.get("ATELIER_PRELABEL_THREADS")
    if threads:
        import torch

        torch.set_num_threads(int(threads))
    output.mkdir(parents=True, exist_ok=True)
    path = output / PREDICTIONS_FILE
    done, complete = items_done(path)
    if path.exists() and path.stat().st_size != complete:
        with open(path, "r+b") as partial:  # a line cut by a crash: written again below
            partial.truncate(complete)
    classes = manifest.get("classes") or None
    with open(path, "a", encoding="utf-8") as sink:
        for entry in manifest["items"]:
            if entry["item"] in done:
                continue
            image = item_image(data, entry)
            shapes = shapes_predict(detector, image, threshold=float(manifest["threshold"]), classes=classes)
            sink.write(json.dumps({"item": entry["item"], "shapes": shapes}) + "\n")
            sink.flush()
    return 0


def main() -> int:
    return run(Path(os.environ["ATELIER_INPUT_DATA"]), Path(os.environ["ATELIER_OUTPUT_DIR"]))


if __name__ == "__main__":
    sys.exit(main())
