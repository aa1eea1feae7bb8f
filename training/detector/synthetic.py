"""Generated webtoon-like strips with their boxes: panels (cuts) stacked down a tall white strip with
gutters, speech bubbles (white ellipses with an outline) inside panels, and text (lines of dark
strokes) inside bubbles and, now and then, loose in a panel. The demo, the tests and the benchmark
train and evaluate the detector on them; seeded, so a seed always draws the same strip."""

import random

from PIL import Image, ImageDraw

CLASSES = ("panel", "speech_bubble", "text")


def strip(
    seed: int, *, width: int = 480, height: int = 2400
) -> tuple[Image.Image, list[tuple[str, int, int, int, int]]]:
    """An RGB strip and its boxes: (class, x0, y0, x1, y1) in its pixels."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    boxes: list[tuple[str, int, int, int, int]] = []
    unit = width / 480  # sizes are drawn for a 480 px strip and scaled to this one
    y = rng.randint(round(40 * unit), round(160 * unit))
    while True:
        panel_height = rng.randint(round(220 * unit), round(480 * unit))
        if y + panel_height > height - 40 * unit:
            break
        margin = rng.randint(round(12 * unit), round(40 * unit))
        panel = (margin, y, width - rng.randint(round(12 * unit), round(40 * unit)), y + panel_height)
        _panel(image, panel, rng)
        boxes.append(("panel", *panel))
        boxes += _bubbles(draw, panel, rng, unit)
        y += panel_height + rng.randint(round(50 * unit), round(220 * unit))
    return image, boxes


def _panel(image: Image.Image, box, rng: random.Random) -> None:
    x0, y0, x1, y1 = box
    tone = tuple(rng.randint(170, 245) for _ in range(3))
    art = Image.new("RGB", (x1 - x0, y1 - y0), tone)  # drawn apart, so the clutter stays inside the cut
    draw = ImageDraw.Draw(art)
    for _ in range(rng.randint(2, 6)):  # a background and a figure or two: clutter that is not a bubble
        cx, cy = rng.randint(0, art.width), rng.randint(0, art.height)
        r = rng.randint(15, 70)
        shade = tuple(max(0, c - rng.randint(40, 120)) for c in tone)
        if rng.random() < 0.5:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=shade)
        else:
            draw.line((cx - r, cy, cx + r, cy + rng.randint(-r, r)), fill=shade, width=rng.randint(2, 6))
    draw.rectangle((0, 0, art.width - 1, art.height - 1), outline="black", width=3)
    image.paste(art, (x0, y0))


def _bubbles(draw: ImageDraw.ImageDraw, panel, rng: random.Random, unit: float) -> list:
    x0, y0, x1, y1 = panel
    boxes = []
    for _ in range(rng.randint(1, 2)):
        w = rng.randint(round(110 * unit), min(round(220 * unit), x1 - x0 - 20))
        h = rng.randint(round(60 * unit), min(round(120 * unit), y1 - y0 - 20))
        bx = rng.randint(x0 + 8, x1 - w - 8)
        by = rng.randint(y0 + 8, y1 - h - 8)
        bubble = (bx, by, bx + w, by + h)
        if any(_overlaps(bubble, b[1:]) for b in boxes):
            continue
        draw.ellipse(bubble, fill="white", outline="black", width=2)
        boxes.append(("speech_bubble", *bubble))
        boxes.append(_text(draw, (bx + w * 0.2, by + h * 0.25, bx + w * 0.8, by + h * 0.75), rng))
    if rng.random() < 0.4:  # a line of narration or an SFX-like scrawl outside any bubble
        tx = rng.randint(x0 + 10, max(x0 + 11, x1 - round(140 * unit)))
        ty = rng.randint(y0 + 10, max(y0 + 11, y1 - round(40 * unit)))
        box = (tx, ty, tx + rng.randint(round(60 * unit), round(120 * unit)), ty + rng.randint(14, 28))
        if not any(_overlaps(box, b[1:]) for b in boxes):
            boxes.append(_text(draw, box, rng))
    return boxes


def _text(draw: ImageDraw.ImageDraw, area, rng: random.Random) -> tuple:
    """Lines of short dark strokes filling `area`; the box is what was drawn."""
    ax0, ay0, ax1, ay1 = (round(v) for v in area)
    lines = max(1, (ay1 - ay0) // 12)
    line_height = (ay1 - ay0) / lines
    right = ax0
    for n in range(lines):
        ly = round(ay0 + n * line_height + line_height * 0.3)
        x = ax0
        end = ax1 - rng.randint(0, (ax1 - ax0) // 3)
        while x < end:
            word = min(end, x + rng.randint(6, 18))
            draw.rectangle((x, ly, word, ly + max(3, round(line_height * 0.45))), fill=(20, 20, 20))
            right = max(right, word)
            x = word + rng.randint(3, 6)
    return ("text", ax0, ay0, right, ay1)


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def write_coco(folder, splits: dict[str, list[int]], *, width: int = 480, height: int = 2400) -> None:
    """A COCO export's layout (docs/exports.md) of generated strips, one per seed: for the benchmark and
    for running the training script by hand without a portal."""
    import json
    from pathlib import Path

    root = Path(folder)
    categories = [{"id": n + 1, "name": name} for n, name in enumerate(CLASSES)]
    for split, seeds in splits.items():
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "annotations").mkdir(parents=True, exist_ok=True)
        images, annotations = [], []
        for image_id, seed in enumerate(seeds, start=1):
            picture, boxes = strip(seed, width=width, height=height)
            name = f"{split}/strip-{seed}.png"
            picture.save(root / "images" / name)
            images.append({"id": image_id, "file_name": name, "width": width, "height": height})
            for cls, x0, y0, x1, y1 in boxes:
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": image_id,
                        "category_id": CLASSES.index(cls) + 1,
                        "bbox": [x0, y0, x1 - x0, y1 - y0],
                        "area": (x1 - x0) * (y1 - y0),
                        "iscrowd": 0,
                        "segmentation": [],
                    }
                )
        body = {"images": images, "annotations": annotations, "categories": categories}
        (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(body))
