"""Which images an item becomes, and which part of each shape lands on each image.

An item's shapes are in its own pixel space (an episode's slice k starts at y = offset_y). Exports
write images of one of two layouts (docs/decisions.md §7):
    slices    each stored slice is an image, named by its sha256; shapes are cut at the slice
              boundaries into per-slice parts in that slice's pixels, linked by a group id.
    stitched  one image per item (its slices stacked at their offsets), named item-<id>; shapes
              keep item coordinates and are never cut.
YOLO may cut either into tiles of a given height; shapes are clipped to each tile the same way.
"""

from dataclasses import dataclass
from itertools import count

from labeling.documents import ItemFrame, clip_box, clip_polygon, shape_bounds


@dataclass(frozen=True)
class ImageUnit:
    name: str  # file stem, unique within an export: <sha256>, item-<id>, + _t<k> for tiles
    top: int  # the image's top edge in item space
    width: int
    height: int
    position: int | None  # slice position, when the image shows (part of) one slice
    sources: tuple  # ((sha256, slice top in item space, slice height), ...) the slices it shows
    whole_slice: bool  # exactly one stored slice: its PNG is copied byte for byte


def image_units(*, item_id: int, snapshot: dict, layout: str, tile_height: int | None = None) -> list[ImageUnit]:
    slices = snapshot["slices"]
    if layout == "stitched":
        sources = tuple((s["sha256"], s["offset_y"], s["height"]) for s in slices)
        base = [
            ImageUnit(
                f"item-{item_id}",
                0,
                snapshot["width"],
                snapshot["height"],
                None,
                sources,
                len(slices) == 1 and slices[0]["width"] == snapshot["width"],
            )
        ]
    else:
        base = [
            ImageUnit(
                s["sha256"],
                s["offset_y"],
                s["width"],
                s["height"],
                s["position"],
                ((s["sha256"], s["offset_y"], s["height"]),),
                True,
            )
            for s in slices
        ]
    if not tile_height:
        return base
    return [tile for unit in base for tile in _tiles(unit, tile_height)]


def _tiles(unit: ImageUnit, tile_height: int) -> list[ImageUnit]:
    if unit.height <= tile_height:
        return [unit]
    tiles = []
    for number, top in enumerate(range(0, unit.height, tile_height)):
        height = min(tile_height, unit.height - top)
        tiles.append(
            ImageUnit(
                f"{unit.name}_t{number:03d}", unit.top + top, unit.width, height, unit.position, unit.sources, False
            )
        )
    return tiles


@dataclass
class Cut:
    parts: list[list[dict]]  # per image unit: shape parts in that image's pixels
    tags: list[dict]  # image-level tag shapes (they belong to every image of the item)
    groups: int = 0
    dropped: int = 0


def cut(shapes: list[dict], units: list[ImageUnit], groups: count) -> Cut:
    """Each box/polygon's parts per image. A shape landing on two or more images gets the next id of
    `groups` on every part (`group`); a shape on one image has group None."""
    result = Cut(parts=[[] for _ in units], tags=[])
    whole = units[0] if len(units) == 1 and units[0].top == 0 else None
    for shape in shapes:
        kind = shape.get("type")
        if kind == "tag":
            result.tags.append(shape)
            continue
        bounds = shape["box"] if kind == "box" else shape_bounds(shape)  # a box is its own bounds
        if whole and bounds[1] + bounds[3] <= whole.height and bounds[0] + bounds[2] <= whole.width:
            result.parts[0].append(shape)  # the common case: one image, already inside it
            continue
        pieces = []
        for index, unit in enumerate(units):
            if unit.top < bounds[1] + bounds[3] and bounds[1] < unit.top + unit.height:
                local = _local(shape, unit)
                if local is not None:
                    pieces.append((index, local))
        if not pieces:
            result.dropped += 1
            continue
        group = None
        if len(pieces) > 1:
            group = next(groups)
            result.groups += 1
        for index, local in pieces:
            local["group"] = group
            result.parts[index].append(local)
    return result


def _local(shape: dict, unit: ImageUnit) -> dict | None:
    """The shape in the unit's pixels, clipped to it; None when nothing with an area is left."""
    frame = ItemFrame(unit.width, unit.height)
    if shape["type"] == "box":
        x, y, w, h = shape["box"]
        geometry = clip_box([x, y - unit.top, w, h], frame)
        key = "box"
    else:
        geometry = clip_polygon([[x, y - unit.top] for x, y in shape["points"]], frame)
        key = "points"
    if geometry is None:
        return None
    return {**{k: v for k, v in shape.items() if k not in ("box", "points")}, key: geometry}


def bounds_of(part: dict) -> tuple[float, float, float, float]:
    return shape_bounds(part)


def polygon_of(part: dict) -> list[list[float]]:
    """A polygon's points, or a box's four corners clockwise from the top left."""
    if part["type"] == "polygon":
        return part["points"]
    x, y, w, h = part["box"]
    return [[x, y], [round(x + w, 2), y], [round(x + w, 2), round(y + h, 2)], [x, round(y + h, 2)]]
