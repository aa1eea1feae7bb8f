"""The detector: a fully convolutional backbone (stride 4, dilated convolutions for a receptive field
of a few hundred pixels) and three 1×1 heads, as in CenterNet: a heatmap per class whose peaks are
object centres, the box size (log width and height in output cells) and the centre's sub-cell offset.

Build it from the run's `config.json` (`DetectorConfig.from_dict`) and load `model.pt` (a state_dict)
into it; `predict_tiles` runs it over a tall strip in overlapping tiles."""

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

STRIDE = 4


@dataclass(frozen=True)
class DetectorConfig:
    classes: tuple[str, ...]
    width: int = 24  # channels of the backbone
    scale: float = 0.35  # images are resized by this factor before the network
    tile_height: int = 1024  # in the image's own pixels
    tile_overlap: int = 512  # prediction tiles overlap by this much: an object at most this tall is whole in one
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        body = asdict(self)
        body["classes"] = list(self.classes)
        return body

    @classmethod
    def from_dict(cls, body: dict) -> "DetectorConfig":
        known = {k: v for k, v in body.items() if k in cls.__dataclass_fields__}
        known["classes"] = tuple(known["classes"])
        return cls(**known)


def _block(cin: int, cout: int, *, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.GroupNorm(8, cout),
        nn.ReLU(inplace=True),
    )


class CentreDetector(nn.Module):
    def __init__(self, config: DetectorConfig):
        super().__init__()
        w = config.width
        self.backbone = nn.Sequential(
            _block(3, 16, stride=2),
            _block(16, w, stride=2),
            _block(w, w, dilation=2),
            _block(w, w, dilation=4),
            _block(w, w, dilation=8),
            _block(w, w, dilation=16),
        )
        self.heatmap = nn.Conv2d(w, len(config.classes), 1)
        self.size = nn.Conv2d(w, 2, 1)
        self.offset = nn.Conv2d(w, 2, 1)
        nn.init.constant_(self.heatmap.bias, -math.log((1 - 0.1) / 0.1))  # start predicting "nothing here"

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.backbone(images)
        return {"heatmap": self.heatmap(features), "size": self.size(features), "offset": self.offset(features)}


def decode(outputs: dict[str, torch.Tensor], *, threshold: float = 0.05, top_k: int = 100) -> list[list[tuple]]:
    """Per image of the batch: (class index, score, x0, y0, x1, y1) in the network's input pixels."""
    heat = torch.sigmoid(outputs["heatmap"])
    peaks = heat * (heat == F.max_pool2d(heat, 3, stride=1, padding=1))
    batch, classes, height, width = heat.shape
    results = []
    for b in range(batch):
        scores, flat = peaks[b].reshape(-1).topk(min(top_k, peaks[b].numel()))
        found = []
        for score, index in zip(scores.tolist(), flat.tolist(), strict=True):
            if score < threshold:
                break
            cls, cell = divmod(index, height * width)
            y, x = divmod(cell, width)
            ox, oy = outputs["offset"][b, :, y, x].tolist()
            lw, lh = outputs["size"][b, :, y, x].clamp(-4, 8).tolist()
            cx, cy = (x + ox) * STRIDE, (y + oy) * STRIDE
            bw, bh = math.exp(lw) * STRIDE, math.exp(lh) * STRIDE
            found.append((cls, score, cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2))
        results.append(found)
    return results


def image_tensor(image, *, scale: float) -> torch.Tensor:
    """A PIL image as the network's input: RGB, resized by `scale`, 0..1, channels first."""
    rgb = image.convert("RGB")
    if scale != 1.0:
        rgb = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))))
    data = torch.frombuffer(bytearray(rgb.tobytes()), dtype=torch.uint8)
    return data.view(rgb.height, rgb.width, 3).permute(2, 0, 1).float().div(255.0)


TILE_BATCH = 8  # tiles per forward pass: one pass over several costs far less than one each (docs/benchmarks.md)


@torch.no_grad()
def predict_tiles(
    model: CentreDetector, image: torch.Tensor, config: DetectorConfig, *, threshold: float = 0.05
) -> list[tuple]:
    """Detections on one whole (scaled) strip, in the image's own pixels: overlapping tiles, run through the
    network TILE_BATCH at a time, a detection that touches a tile's inner edge dropped (the object is whole
    in the neighbouring tile), then NMS."""
    model.eval()
    _, height, _ = image.shape
    tile = max(STRIDE, round(config.tile_height * config.scale))
    step = max(STRIDE, tile - round(config.tile_overlap * config.scale))
    starts = list(range(0, max(1, height - tile) + 1, step))
    if starts[-1] + tile < height:
        starts.append(height - tile)
    found = []
    for first in range(0, len(starts), TILE_BATCH):
        tops = starts[first : first + TILE_BATCH]
        crops = torch.stack([_padded(image[:, top : top + tile]) for top in tops])  # same size: tops end ≤ height
        outputs = model(crops.contiguous(memory_format=torch.channels_last))
        for top, detections in zip(tops, decode(outputs, threshold=threshold), strict=True):
            found.extend(_inside_tile(detections, top=top, tile=tile, height=height, crop_height=crops.shape[2]))
    return [
        (c, s, x0 / config.scale, y0 / config.scale, x1 / config.scale, y1 / config.scale)
        for c, s, x0, y0, x1, y1 in nms(found)
    ]


def _inside_tile(detections: list[tuple], *, top: int, tile: int, height: int, crop_height: int) -> list[tuple]:
    """A tile's detections in the strip's pixels, less those cut by an inner edge of the tile."""
    kept = []
    for cls, score, x0, y0, x1, y1 in detections:
        touches_top = top > 0 and y0 <= 2
        touches_bottom = top + tile < height and y1 >= crop_height - 2
        if touches_top or touches_bottom or y0 >= crop_height:
            continue
        kept.append((cls, score, x0, y0 + top, x1, y1 + top))
    return kept


def _padded(crop: torch.Tensor) -> torch.Tensor:
    """Height and width up to a multiple of the stride (zeros: the pad is background)."""
    _, h, w = crop.shape
    return F.pad(crop, (0, (-w) % STRIDE, 0, (-h) % STRIDE))


def nms(detections: list[tuple], *, iou_threshold: float = 0.5) -> list[tuple]:
    kept: list[tuple] = []
    for det in sorted(detections, key=lambda d: -d[1]):
        if all(k[0] != det[0] or box_iou(k[2:], det[2:]) < iou_threshold for k in kept):
            kept.append(det)
    return kept


def box_iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
