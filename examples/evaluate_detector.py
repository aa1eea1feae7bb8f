"""Evaluate a trained strip detector (training/detector/) on a COCO export: a pipeline's `evaluate` step.

Reads (an `evaluate` step sets them, docs/pipelines.md):
  ATELIER_INPUT_CHECKPOINT   the checkpoint (model.pt, a state_dict), its config.json beside it
  ATELIER_INPUT_DATA         the unpacked COCO export: annotations/instances_<split>.json and images/
  ATELIER_OUTPUT_DIR         where metrics.json goes
Predicts each strip of the `val` split (the `train` split when there is no val) in overlapping tiles and
writes mAP@0.5, per-class AP and precision/recall at IoU 0.5 — the same figures training writes.

Run it yourself:
  ATELIER_INPUT_CHECKPOINT=out/model.pt ATELIER_INPUT_DATA=/tmp/export ATELIER_OUTPUT_DIR=/tmp/eval \\
    python examples/evaluate_detector.py
"""

import argparse
import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's training/detector/

from training.detector.data import coco_classes, coco_split  # noqa: E402
from training.detector.evaluate import evaluate  # noqa: E402
from training.detector.infer import detector_load  # noqa: E402
from training.detector.model import predict_tiles  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    args = parser.parse_args()
    checkpoint = Path(os.environ.get("ATELIER_INPUT_CHECKPOINT", ""))
    data = Path(os.environ.get("ATELIER_INPUT_DATA", ""))
    outputs = Path(os.environ.get("ATELIER_OUTPUT_DIR", "outputs"))
    if not checkpoint.is_file() or not (checkpoint.parent / "config.json").is_file():
        print(f"ATELIER_INPUT_CHECKPOINT={str(checkpoint)!r} is not a checkpoint with its config.json beside it")
        return 2
    if not (data / "annotations").is_dir():
        print(f"ATELIER_INPUT_DATA={str(data)!r} holds no COCO export (annotations/): nothing to evaluate on")
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    detector = detector_load(checkpoint=checkpoint, config=checkpoint.parent / "config.json", device=device)
    config = detector.config
    classes = coco_classes(data)
    strips, evaluated_on = coco_split(data, "val", classes=classes, scale=config.scale), "val"
    if not strips:
        strips, evaluated_on = coco_split(data, "train", classes=classes, scale=config.scale), "train (no val split)"
    with torch.no_grad():
        predictions = [predict_tiles(detector.model, s.image.to(device), config) for s in strips]
    quality = evaluate(predictions, [s.boxes for s in strips], classes=len(classes))
    quality["ap50_per_class"] = {classes[c]: ap for c, ap in quality["ap50_per_class"].items()}
    metrics = {**quality, "evaluated_on": evaluated_on, "eval_strips": len(strips), "device": device}
    outputs.mkdir(parents=True, exist_ok=True)
    (outputs / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps(metrics), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
