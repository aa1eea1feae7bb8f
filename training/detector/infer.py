"""One way to turn a registered detector and an image into shapes, for batch pre-labeling (a job) and for
the serving endpoint (an inference worker) alike, so both answer the same for the same picture.

Shapes come in labeling's format (labeling/documents.py: a box `[x, y, width, height]` in the image's own
pixels, a class name) with a `score` in 0..1, as `predictions_record` takes them. No Django here: a job
imports this from the checkout.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from training.detector.model import CentreDetector, DetectorConfig, image_tensor, predict_tiles

DEFAULT_THRESHOLD = 0.3


@dataclass(frozen=True)
class LoadedDetector:
    model: CentreDetector
    config: DetectorConfig


def detector_load(*, checkpoint: Path, config: Path, device: str = "cpu") -> LoadedDetector:
    """The model from a version's `model.pt` (a state_dict) and `config.json`, in eval mode. A file that
    does not load raises with torch's or json's own message (the run then fails with it)."""
    detector_config = DetectorConfig.from_dict(json.loads(Path(config).read_text()))
    model = CentreDetector(detector_config)
    model.load_state_dict(torch.load(Path(checkpoint), map_location=device, weights_only=True))
    model.to(device).eval()
    return LoadedDetector(model=model, config=detector_config)


def shapes_predict(
    detector: LoadedDetector, image, *, threshold: float = DEFAULT_THRESHOLD, classes: list[str] | None = None
) -> list[dict]:
    """Shapes for one PIL image (a tall strip is read in overlapping tiles, boxes merged across tile
    borders by NMS), highest score first; `classes` keeps only those class names. Ids are `p1`, `p2`…
    in that order, so the same picture gives the same ids."""
    config = detector.config
    device = next(detector.model.parameters()).device
    tensor = image_tensor(image, scale=config.scale).to(device)
    found = predict_tiles(detector.model, tensor, config, threshold=threshold)
    shapes = []
    for cls, score, x0, y0, x1, y1 in sorted(found, key=lambda d: -d[1]):
        name = config.classes[cls]
        if classes is not None and name not in classes:
            continue
        box = _clipped(x0, y0, x1, y1, width=image.width, height=image.height)
        if box is None:
            continue
        shapes.append({"type": "box", "class": name, "box": box, "score": round(float(score), 4)})
    for number, shape in enumerate(shapes, start=1):
        shape["id"] = f"p{number}"
    return shapes


def _clipped(x0, y0, x1, y1, *, width: int, height: int) -> list[float] | None:
    """The box inside the image, rounded to a tenth of a pixel; None when nothing of it is inside."""
    x0, y0 = max(0.0, x0), max(0.0, y0)
    x1, y1 = min(float(width), x1), min(float(height), y1)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return [round(x0, 1), round(y0, 1), round(x1 - x0, 1), round(y1 - y0, 1)]
