"""Export options: parsed and checked here, so a bad option is a 400 naming it before any job exists."""

from dataclasses import dataclass

from labeling.formats.base import SPLITS

FORMATS = ("coco", "yolo", "voc", "label_studio")
LAYOUTS = ("slices", "stitched")
YOLO_TASKS = ("detect", "segment")
MIN_TILE_HEIGHT = 32
MAX_TILE_HEIGHT = 65_535

UNKNOWN_FORMAT = "Choose one of: " + ", ".join(FORMATS) + "."
UNKNOWN_OPTION = "Unknown option for {format}: {name}."
NOT_A_BOOLEAN = "Use true or false."
UNKNOWN_LAYOUT = "Choose slices (each stored slice is an image) or stitched (one image per item)."
BAD_TILE_HEIGHT = f"A tile height is a whole number of pixels from {MIN_TILE_HEIGHT} to {MAX_TILE_HEIGHT}, or null."
BAD_SPLITS = "Give a non-empty list of splits among train, val and test."
BAD_YOLO_TASK = "Choose detect (boxes) or segment (polygons)."
BAD_PREFIX = "A prefix is text of at most 500 characters."

COMMON = ("include_images", "layout", "splits")
PER_FORMAT = {"coco": (), "voc": (), "yolo": ("tile_height", "task"), "label_studio": ("image_url_prefix",)}


class OptionsInvalid(ValueError):
    """`errors` maps a field (`format`, `options.<name>`) to messages, as the API answers them."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {v[0]}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class ExportOptions:
    format: str
    include_images: bool = False
    layout: str = "slices"
    splits: tuple[str, ...] = SPLITS
    tile_height: int | None = None  # YOLO: cut each image into tiles of this height
    task: str = "detect"  # YOLO: detect (boxes) or segment (polygons)
    image_url_prefix: str = ""  # Label Studio: put before each task's image path

    def as_dict(self) -> dict:
        body = {"include_images": self.include_images, "layout": self.layout, "splits": list(self.splits)}
        body.update({name: getattr(self, name) for name in PER_FORMAT[self.format]})
        return body


def options_parse(format_name, raw) -> ExportOptions:
    if format_name not in FORMATS:
        raise OptionsInvalid({"format": [UNKNOWN_FORMAT]})
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise OptionsInvalid({"options": ["Send options as a JSON object."]})
    errors: dict[str, list[str]] = {}
    allowed = COMMON + PER_FORMAT[format_name]
    for name in raw:
        if name not in allowed:
            errors[f"options.{name}"] = [UNKNOWN_OPTION.format(format=format_name, name=name)]
    values = {"format": format_name}
    for name in allowed:
        if name in raw and raw[name] is not None:
            problem, value = _CHECKS[name](raw[name])
            if problem:
                errors[f"options.{name}"] = [problem]
            else:
                values[name] = value
    if errors:
        raise OptionsInvalid(errors)
    return ExportOptions(**values)


def _boolean(value):
    if isinstance(value, bool):
        return None, value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "on", "off"):
        return None, value.lower() in ("true", "1", "on")
    return NOT_A_BOOLEAN, None


def _layout(value):
    return (None, value) if value in LAYOUTS else (UNKNOWN_LAYOUT, None)


def _splits(value):
    if isinstance(value, str):
        value = [v for v in value.split(",") if v]
    if not isinstance(value, list) or not value or any(v not in SPLITS for v in value):
        return BAD_SPLITS, None
    return None, tuple(s for s in SPLITS if s in value)


def _tile_height(value):
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_TILE_HEIGHT <= value <= MAX_TILE_HEIGHT:
        return BAD_TILE_HEIGHT, None
    return None, value


def _task(value):
    return (None, value) if value in YOLO_TASKS else (BAD_YOLO_TASK, None)


def _prefix(value):
    return (None, value) if isinstance(value, str) and len(value) <= 500 else (BAD_PREFIX, None)


_CHECKS = {
    "include_images": _boolean,
    "layout": _layout,
    "splits": _splits,
    "tile_height": _tile_height,
    "task": _task,
    "image_url_prefix": _prefix,
}
