"""Train the small strip detector (training/detector/) on a COCO export of a dataset version.

Reads (Atelier sets them when the job names a dataset version, docs/models.md "Inputs staged for jobs"):
  ATELIER_INPUT_DATA   the unpacked COCO export: annotations/instances_<split>.json and images/
  ATELIER_OUTPUT_DIR   where model.pt (a state_dict), config.json and metrics.json go
Trains on random tiles of the `train` split's strips, evaluates on the `val` split (whole strips, predicted
in overlapping tiles: mAP@0.5, precision and recall at IoU 0.5), on CUDA when visible, else on the CPU.
Bounded by --steps and --max-seconds (or ATELIER_TRAIN_STEPS, ATELIER_TRAIN_MAX_SECONDS).

Run it yourself:
  ATELIER_INPUT_DATA=/tmp/export ATELIER_OUTPUT_DIR=/tmp/out python examples/train_detector.py --steps 50
Then register the result: atelier models register JOB --name detector --checkpoint model.pt \
  --metrics metrics.json --config config.json
"""

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import torch

# The detector is a module of the checkout (training/detector/, no Django), so pre-labeling can load
# the same model; a job runs this file from the checkout, so its root goes on the import path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.detector.data import coco_classes, coco_split, loss, random_tile, targets  # noqa: E402
from training.detector.evaluate import evaluate  # noqa: E402
from training.detector.model import CentreDetector, DetectorConfig, predict_tiles  # noqa: E402


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=int(os.environ.get("ATELIER_TRAIN_STEPS", "2000")))
    parser.add_argument("--max-seconds", type=float, default=float(os.environ.get("ATELIER_TRAIN_MAX_SECONDS", "0")))
    parser.add_argument("--batch", type=int, default=6)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--width", type=int, default=24, help="channels of the backbone")
    parser.add_argument("--scale", type=float, default=0.35, help="resize images by this before the network")
    parser.add_argument("--tile-height", type=int, default=1024, help="tile height in the image's own pixels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    return parser.parse_args()


def main() -> int:
    args = arguments()
    data = Path(os.environ.get("ATELIER_INPUT_DATA", ""))
    outputs = Path(os.environ.get("ATELIER_OUTPUT_DIR", "outputs"))
    outputs.mkdir(parents=True, exist_ok=True)
    if not (data / "annotations").is_dir():
        print(f"ATELIER_INPUT_DATA={str(data)!r} holds no COCO export (annotations/): nothing to train on")
        return 2
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    classes = coco_classes(data)
    config = DetectorConfig(classes=tuple(classes), width=args.width, scale=args.scale, tile_height=args.tile_height)
    train = [s for s in coco_split(data, "train", classes=classes, scale=args.scale) if s.boxes]
    val = coco_split(data, "val", classes=classes, scale=args.scale)
    evaluated_on = "val"
    if not val:
        val, evaluated_on = coco_split(data, "train", classes=classes, scale=args.scale), "train (no val split)"
    print(f"device={device} classes={classes} train strips={len(train)} val strips={len(val)}", flush=True)
    if not train:
        print("the train split has no annotated strip: nothing to learn from")
        return 2

    model = CentreDetector(config).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    rng = random.Random(args.seed)
    tile = round(args.tile_height * args.scale)
    started = time.monotonic()
    step = 0
    model.train()
    while step < args.steps and not (args.max_seconds and time.monotonic() - started > args.max_seconds):
        images, heat, size, offset, mask = [], [], [], [], []
        for _ in range(args.batch):
            crop, boxes = random_tile(rng.choice(train), tile=tile, scale=args.scale, rng=rng)
            if rng.random() < 0.5:  # mirror: strips read top to bottom, but art faces both ways
                crop = crop.flip(-1)
                width = crop.shape[-1]
                boxes = [(c, width - x1, y0, width - x0, y1) for c, x0, y0, x1, y1 in boxes]
            goal = targets(boxes, classes=len(classes), height=crop.shape[1], width=crop.shape[2])
            images.append(crop)
            heat.append(goal["heatmap"]), size.append(goal["size"])
            offset.append(goal["offset"]), mask.append(goal["mask"])
        batch = {"heatmap": heat, "size": size, "offset": offset, "mask": mask}
        goal = {k: torch.stack(v).to(device) for k, v in batch.items()}
        value = loss(model(torch.stack(images).to(device)), goal)
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(args, step=step, elapsed=time.monotonic() - started)
        optimiser.zero_grad()
        value.backward()
        optimiser.step()
        step += 1
        if step % 10 == 0 or step == 1:
            print(f"step {step} loss {value.item():.4f} {time.monotonic() - started:.0f}s", flush=True)
    train_seconds = time.monotonic() - started

    model.eval()
    predictions = [predict_tiles(model, s.image.to(device), config) for s in val]
    truths = [s.boxes for s in val]
    quality = evaluate(predictions, truths, classes=len(classes))
    quality["ap50_per_class"] = {classes[c]: ap for c, ap in quality["ap50_per_class"].items()}
    metrics = {
        **quality,
        "evaluated_on": evaluated_on,
        "steps": step,
        "train_seconds": round(train_seconds, 1),
        "device": str(device),
        "train_strips": len(train),
        "eval_strips": len(val),
    }
    _write_atomically(outputs / "model.pt", lambda path: torch.save(model.cpu().state_dict(), path))
    _write_atomically(outputs / "config.json", lambda path: path.write_text(json.dumps(config.to_dict(), indent=2)))
    _write_atomically(outputs / "metrics.json", lambda path: path.write_text(json.dumps(metrics, indent=2)))
    print(json.dumps(metrics), flush=True)
    return 0


def learning_rate(args: argparse.Namespace, *, step: int, elapsed: float) -> float:
    """A short warm-up, then a cosine to zero over the run: its length is the step count or the time
    budget, whichever ends it first, so a run cut by --max-seconds still ends with a low rate."""
    progress = step / max(1, args.steps)
    if args.max_seconds:
        progress = max(progress, elapsed / args.max_seconds)
    progress = min(1.0, progress)
    warm = min(1.0, (step + 1) / 20)
    return args.lr * warm * 0.5 * (1 + math.cos(math.pi * progress))


def _write_atomically(path: Path, write) -> None:
    """A temporary name, then a rename: a stopped attempt leaves the old file or the new, never half of one."""
    partial = path.with_name(path.name + ".partial")
    write(partial)
    partial.replace(path)


if __name__ == "__main__":
    sys.exit(main())
