"""Every export format that has a reader, in every layout, read back onto the same images: the pure
writers (labeling/formats/write.py), readers (read.py) and merging (merge.py), no database, no Celery.

What may change on the way is only what docs/exports.md ("What a round trip keeps") documents:
- COCO and Label Studio keep everything; in the `slices` layout a polygon crossing a slice boundary
  comes back as its per-slice parts (`<id>`, `<id>-1`, ...), each with the shape's class and attributes.
- YOLO keeps classes and geometry only (no ids, attributes, tags or relations); a shape crossing a
  slice boundary comes back as its parts; `detect` writes a polygon as its bounding box and
  `segment` a box as its four corners.
VOC is export only (no reader), and YOLO tiles name images no import can match; neither is here.
"""

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labeling.documents import ItemFrame, clip_polygon
from labeling.formats import ExportMeta, ExportRecord, export_write, options_parse
from labeling.formats.merge import ItemDocument, merge_record, shape_coerced
from labeling.formats.read import READERS, reference_name
from labeling.formats.yolo import label_line
from labeling.schema import default_webtoon_schema
from tests.labeling.formats.helpers import zip_entries

SCHEMA = default_webtoon_schema()
META = ExportMeta(
    dataset="d",
    version=1,
    content_hash="h",
    created="2026-01-01T00:00:00+00:00",
    classes=SCHEMA["classes"],
    relation_types=SCHEMA["relations"],
)
ATTRIBUTE_TYPES = {c["name"]: {a["name"]: a["type"] for a in c["attributes"]} for c in SCHEMA["classes"]}
TOLERANCE = 0.01  # px: Label Studio's percents and YOLO's six decimals of a fraction
WORDS = st.text(st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\n\t"), max_size=12)

LAYOUTS = [
    ("coco", {"layout": "slices"}),
    ("coco", {"layout": "stitched"}),
    ("label_studio", {"layout": "slices"}),
    ("label_studio", {"layout": "stitched"}),
    ("yolo", {"layout": "slices", "task": "detect"}),
    ("yolo", {"layout": "stitched", "task": "detect"}),
    ("yolo", {"layout": "slices", "task": "segment"}),
    ("yolo", {"layout": "stitched", "task": "segment"}),
]


@st.composite
def item_snapshots(draw, item_id: int) -> ExportRecord:
    width = draw(st.integers(20, 120))
    heights = draw(st.lists(st.integers(20, 160), min_size=1, max_size=3))
    slices, top = [], 0
    for position, height in enumerate(heights):
        sha256 = format(item_id * 16 + position, "064x")
        slices.append({"position": position, "offset_y": top, "width": width, "height": height, "sha256": sha256})
        top += height
    shapes = draw(st.lists(_shape(width, top), max_size=6))
    for number, shape in enumerate(shapes, start=1):
        shape["id"] = f"s{number}"
    if draw(st.booleans()):
        shapes.append({"id": "f1", "class": "flashback", "type": "tag", "attributes": {}})
    texts = [s["id"] for s in shapes if s["class"] == "text"]
    characters = [s["id"] for s in shapes if s["class"] == "character"]
    relations = [
        {"id": f"r{n}", "type": "speaker", "from": a, "to": b}
        for n, (a, b) in enumerate(zip(texts, characters), start=1)
    ]
    snapshot = {
        "kind": "episode" if len(slices) > 1 else "image",
        "name": f"item {item_id}",
        "width": width,
        "height": top,
        "slices": slices,
        "annotation": {"task": item_id, "status": "accepted", "version": 1, "shapes": shapes, "relations": relations},
    }
    return ExportRecord(item_id=item_id, split=draw(st.sampled_from(["train", "val", "test"])), snapshot=snapshot)


@st.composite
def _shape(draw, width: int, height: int) -> dict:
    klass = draw(st.sampled_from(["panel", "speech_bubble", "character", "text", "sfx"]))
    attributes = {
        "character": lambda: {"name": draw(WORDS)},
        "text": lambda: {"transcription": draw(WORDS), "language": draw(st.sampled_from(["ko", "en", "ja"]))},
        "sfx": lambda: {"transcription": draw(WORDS)},
    }.get(klass, dict)()
    x, y = draw(st.integers(0, width - 2)), draw(st.integers(0, height - 2))
    w, h = draw(st.integers(1, width - x)), draw(st.integers(1, height - y))
    shape = {"class": klass, "attributes": attributes}
    if draw(st.booleans()):
        return {**shape, "type": "box", "box": [x, y, w, h]}
    return {**shape, "type": "polygon", "points": [[x, y], [x + w, y], [x, y + h]]}


def round_trip(records: list[ExportRecord], format_name: str, raw_options: dict) -> dict[int, ItemDocument]:
    options = options_parse(format_name, raw_options)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.zip"
        export_write(records=records, meta=META, options=options, path=path, workdir=Path(folder) / "work")
        entries = zip_entries(path)
    files = [(n, d) for n, d in entries.items() if format_name == "yolo" or n.endswith(".json")]
    read = READERS[format_name](files)
    assert read.errors == []
    targets = _targets(records)
    documents: dict[int, ItemDocument] = {}
    for record in read.records:
        item_id, offset_y, width, height = targets[reference_name(record.reference)]
        document = documents.setdefault(item_id, ItemDocument())
        merge_record(document, record, offset_y=offset_y, width=width, height=height)
    for document in documents.values():
        for shape_id, shape in document.shapes.items():
            document.shapes[shape_id] = shape_coerced(shape, ATTRIBUTE_TYPES.get(shape["class"], {}), None)
    return documents


def _targets(records: list[ExportRecord]) -> dict[str, tuple]:
    """Every name an export gives an image, as the import's index knows them (stored name, item-<id>)."""
    targets = {}
    for record in records:
        snapshot = record.snapshot
        item = (record.item_id, 0, snapshot["width"], snapshot["height"])
        targets.update({f"item-{record.item_id}": item, f"item-{record.item_id}.png": item})
        for s in snapshot["slices"]:
            place = (record.item_id, s["offset_y"], s["width"], s["height"])
            targets.update({s["sha256"]: place, f"{s['sha256']}.png": place})
    return targets


# ---------------------------------------------------------------- what comes back


def _parts(shape: dict, record: ExportRecord, layout: str) -> list[list[list[float]]]:
    """The shape's outline per image it lands on, back in item coordinates."""
    snapshot = record.snapshot
    images = (
        [(0, snapshot["width"], snapshot["height"])]
        if layout == "stitched"
        else [(s["offset_y"], s["width"], s["height"]) for s in snapshot["slices"]]
    )
    outline = _outline(shape)
    parts = []
    for top, width, height in images:
        local = clip_polygon([[x, y - top] for x, y in outline], ItemFrame(width, height))
        if local is not None:
            parts.append([[x, y + top] for x, y in local])
    return parts


def _outline(shape: dict) -> list[list[float]]:
    if shape["type"] == "polygon":
        return shape["points"]
    x, y, w, h = shape["box"]
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]


def _bounds(points) -> list[float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def _close(a: list, b: list) -> bool:
    flat_a, flat_b = _flat(a), _flat(b)
    return len(flat_a) == len(flat_b) and all(abs(u - v) <= TOLERANCE for u, v in zip(flat_a, flat_b))


def _flat(values) -> list[float]:
    return [v for value in values for v in (_flat(value) if isinstance(value, list) else [value])]


def _geometry(shape: dict) -> list:
    return shape["box"] if shape["type"] == "box" else shape["points"]


def assert_lossless(record: ExportRecord, document: ItemDocument, layout: str) -> None:
    original = record.snapshot["annotation"]
    names, split = [], {}
    for shape in original["shapes"]:
        parts = _parts(shape, record, layout) if shape["type"] == "polygon" else []
        if len(parts) > 1:  # a polygon crossing slice boundaries: its parts, named <id>, <id>-1, ...
            split[shape["id"]] = parts
            names += [shape["id"]] + [f"{shape['id']}-{n}" for n in range(1, len(parts))]
        else:
            names.append(shape["id"])
    assert sorted(document.shapes) == sorted(names)
    for want in original["shapes"]:
        pieces = [document.shapes[n] for n in names if n.rsplit("-", 1)[0] == want["id"] or n == want["id"]]
        for piece in pieces:
            assert (piece["class"], piece["type"], piece["attributes"]) == (
                want["class"],
                want["type"],
                want["attributes"],
            )
        if want["id"] in split:  # which part keeps the bare id follows the order of the images in the file
            found = [piece["points"] for piece in pieces]
            assert all(any(_close(part, points) for points in found) for part in split[want["id"]]), want["id"]
        elif want["type"] != "tag":
            assert _close(_geometry(pieces[0]), _geometry(want)), want["id"]
    assert sorted(document.relations.values(), key=lambda r: r["id"]) == original["relations"]


def assert_yolo_geometry(record: ExportRecord, document: ItemDocument, layout: str, task: str) -> None:
    expected = []
    for shape in record.snapshot["annotation"]["shapes"]:
        for part in _parts(shape, record, layout) if shape["type"] != "tag" else []:
            if task == "detect":
                expected.append((shape["class"], "box", _bounds(part)))
            else:
                expected.append(
                    (shape["class"], "polygon", _corners(_bounds(part)) if shape["type"] == "box" else part)
                )
    found = [(s["class"], s["type"], _geometry(s)) for s in document.shapes.values()]
    assert len(found) == len(expected), (found, expected)
    for klass, kind, geometry in expected:
        match = next((f for f in found if f[:2] == (klass, kind) and _close(f[2], geometry)), None)
        assert match is not None, (klass, kind, geometry, found)
        found.remove(match)
    assert document.relations == {}
    assert all(s["attributes"] == {} for s in document.shapes.values())


def _corners(bounds: list[float]) -> list[list[float]]:
    x, y, w, h = bounds
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=st.integers(1, 3).flatmap(lambda n: st.tuples(*[item_snapshots(i) for i in range(1, n + 1)])),
)
def test_every_format_and_layout_round_trips_with_only_the_documented_losses(records):
    records = list(records)
    for format_name, raw_options in LAYOUTS:
        documents = round_trip(records, format_name, raw_options)
        for record in records:
            document = documents.get(record.item_id, ItemDocument())
            if format_name == "yolo":
                assert_yolo_geometry(record, document, raw_options["layout"], raw_options["task"])
            else:
                assert_lossless(record, document, raw_options["layout"])


def test_label_line_is_what_the_reader_reads_back():
    """The writer's line for a box, read by the reader, is the same box as fractions of the image."""
    line = label_line({"type": "box", "box": [10, 20, 30, 40]}, 0, 100, 200, segment=False)
    [record] = READERS["yolo"]([("data.yaml", b"names: [panel]\n"), ("labels/a.txt", line.encode())]).records
    assert _close(record.shapes[0]["box"], [0.1, 0.1, 0.3, 0.2])
