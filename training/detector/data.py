"""The COCO export as training data (docs/exports.md "Archive layouts": `annotations/instances_<split>.json`
and `images/<file_name>`), tiles of tall strips with their targets, and the loss."""

import json
import random
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from training.detector.model import STRIDE, image_tensor


@dataclass
class Strip:
    image: torch.Tensor  # scaled, channels first
    boxes: list[tuple[int, float, float, float, float]]  # class index, x0, y0, x1, y1 in the image's own pixels
    name: str


def coco_classes(root: Path) -> list[str]:
    """The categories of the export, in id order (the same in every split's file)."""
    for path in sorted((root / "annotations").glob("instances_*.json")):
        categories = json.loads(path.read_text())["categories"]
        return [c["name"] for c in sorted(categories, key=lambda c: c["id"])]
    raise FileNotFoundError(f"no annotations/instances_*.json under {root}: is it a COCO export?")


def coco_split(root: Path, split: str, *, classes: list[str], scale: float) -> list[Strip]:
    path = root / "annotations" / f"instances_{split}.json"
    if not path.is_file():
        return []
    coco = json.loads(path.read_text())
    category_index = {c["id"]: classes.index(c["name"]) for c in coco["categories"] if c["name"] in classes}
    boxes: dict[int, list] = {}
    for a in coco["annotations"]:
        if a["category_id"] in category_index:
            x, y, w, h = a["bbox"]
            boxes.setdefault(a["image_id"], []).append((category_index[a["category_id"]], x, y, x + w, y + h))
    strips = []
    for image in coco["images"]:
        with Image.open(root / "images" / image["file_name"]) as picture:
            strips.append(Strip(image_tensor(picture, scale=scale), boxes.get(image["id"], []), image["file_name"]))
    return strips


def random_tile(strip: Strip, *, tile: int, scale: float, rng: random.Random) -> tuple[torch.Tensor, list]:
    """A tile `tile` pixels tall (network pixels) at a random height, and the boxes mostly inside it
    (at least half of their area), clipped to it, in the tile's network pixels."""
    _, height, width = strip.image.shape
    top = rng.randint(0, max(0, height - tile))
    crop = strip.image[:, top : top + tile]
    crop = F.pad(crop, (0, (-width) % STRIDE, 0, tile - crop.shape[1] + (-tile) % STRIDE))
    inside = []
    for cls, x0, y0, x1, y1 in strip.boxes:
        x0, y0, x1, y1 = x0 * scale, y0 * scale - top, x1 * scale, y1 * scale - top
        cy0, cy1 = max(0.0, y0), min(float(tile), y1)
        if cy1 <= cy0 or (cy1 - cy0) < 0.5 * (y1 - y0):
            continue
        inside.append((cls, x0, cy0, x1, cy1))
    return crop, inside


def targets(boxes: list, *, classes: int, height: int, width: int) -> dict[str, torch.Tensor]:
    """CenterNet targets on the output grid: a Gaussian bump per centre, the size and offset at it."""
    gh, gw = height // STRIDE, width // STRIDE
    heat = torch.zeros(classes, gh, gw)
    size = torch.zeros(2, gh, gw)
    offset = torch.zeros(2, gh, gw)
    mask = torch.zeros(gh, gw)
    ys = torch.arange(gh).float().view(-1, 1)
    xs = torch.arange(gw).float().view(1, -1)
    for cls, x0, y0, x1, y1 in boxes:
        cx, cy = (x0 + x1) / 2 / STRIDE, (y0 + y1) / 2 / STRIDE
        w, h = max(1.0, (x1 - x0) / STRIDE), max(1.0, (y1 - y0) / STRIDE)
        ix, iy = min(gw - 1, int(cx)), min(gh - 1, int(cy))
        sx, sy = max(0.7, w / 6), max(0.7, h / 6)
        bump = torch.exp(-((xs - ix) ** 2) / (2 * sx * sx) - ((ys - iy) ** 2) / (2 * sy * sy))
        heat[cls] = torch.maximum(heat[cls], bump)
        heat[cls, iy, ix] = 1.0
        size[:, iy, ix] = torch.tensor([torch.log(torch.tensor(w)), torch.log(torch.tensor(h))])
        offset[:, iy, ix] = torch.tensor([cx - ix, cy - iy])
        mask[iy, ix] = 1.0
    return {"heatmap": heat, "size": size, "offset": offset, "mask": mask}


def loss(outputs: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> torch.Tensor:
    """Focal loss on the heatmap (CenterNet's α=2, β=4) plus L1 on size and offset at the centres."""
    pred = torch.sigmoid(outputs["heatmap"]).clamp(1e-4, 1 - 1e-4)
    gt = target["heatmap"]
    positive = gt.eq(1).float()
    negative = (1 - positive) * (1 - gt).pow(4)
    count = positive.sum().clamp(min=1.0)
    focal = -(positive * (1 - pred).pow(2) * pred.log() + negative * pred.pow(2) * (1 - pred).log()).sum() / count
    mask = target["mask"].unsqueeze(1)
    size = (F.l1_loss(outputs["size"], target["size"], reduction="none") * mask).sum() / count
    offset = (F.l1_loss(outputs["offset"], target["offset"], reduction="none") * mask).sum() / count
    return focal + 0.5 * size + offset
