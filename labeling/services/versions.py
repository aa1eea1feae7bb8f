"""Frozen dataset versions: a snapshot of the items, seeded splits, a content hash, stats, leaks.

Splits are made per item, so an episode's slices are always in one split. Each item's split comes
from a hash of (seed, item id) mapped onto [0, 1) and cut at the ratios: the same seed gives the
same split, and an item keeps its split in a later version that adds items.

Each item's snapshot also freezes its annotation: of the item's tasks, the accepted document
(lowest overlap index) if any, else the most recently submitted one, else the most recently saved
draft; `annotation.status` says which. Items nobody has annotated have `annotation: null`.
"""

import hashlib
import json
from collections import Counter, defaultdict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from labeling.ingest.fingerprints import DHASH_BITS, hamming_distance
from labeling.models import Annotation, Dataset, DatasetVersion, Item, Slice, Split, TaskStatus, VersionItem
from labeling.signals import version_frozen
from portal.signals import send_after_commit

DEFAULT_RATIOS = {"train": 0.8, "val": 0.1, "test": 0.1}
RATIOS_MUST_SUM_TO_ONE = "Give train, val and test ratios between 0 and 1 that sum to 1."
NO_ITEMS = "The dataset has no items to put in a version."


def version_create(*, dataset: Dataset, user, seed: int, ratios: dict | None = None, note: str = "") -> DatasetVersion:
    ratios = _checked_ratios(ratios or DEFAULT_RATIOS)
    rows = _rows(dataset, seed=seed, ratios=ratios)
    for attempt in range(3):  # two creations at once may pick the same number: the constraint decides
        try:
            return _version_store(dataset=dataset, user=user, seed=seed, ratios=ratios, note=note, rows=rows)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def version_freeze(*, dataset: Dataset, user, seed: int = 0, note: str = "") -> tuple[DatasetVersion, bool]:
    """A new version of the dataset's working state, or its latest version when that holds the same content
    (same items, splits and annotations: equal content hashes); the second value says which."""
    latest = DatasetVersion.objects.filter(dataset=dataset).order_by("-number").first()
    if latest is not None and latest.content_hash == working_content_hash(dataset=dataset, seed=seed):
        return latest, False
    return version_create(dataset=dataset, user=user, seed=seed, note=note), True


def working_content_hash(*, dataset: Dataset, seed: int = 0) -> str:
    """The content hash a version frozen now with `seed` and the default ratios would have."""
    rows = _rows(dataset, seed=seed, ratios=DEFAULT_RATIOS)
    return content_hash_of(
        rows=[(item.pk, split, snap) for item, split, snap in rows], label_schema=dataset.label_schema
    )


def _rows(dataset: Dataset, *, seed: int, ratios: dict) -> list[tuple]:
    items = list(Item.objects.filter(dataset=dataset).order_by("id"))
    if not items:
        raise ValidationError({"non_field_errors": [NO_ITEMS]})
    slices = _slices_by_item(dataset)
    annotations = _annotations_by_item(dataset)
    return [
        (
            item,
            split_of(seed=seed, item_id=item.pk, ratios=ratios),
            _snapshot(item, slices[item.pk], annotations.get(item.pk)),
        )
        for item in items
    ]


def split_of(*, seed: int, item_id: int, ratios: dict) -> str:
    digest = hashlib.sha256(f"{seed}:{item_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    if point < ratios["train"]:
        return Split.TRAIN
    if point < ratios["train"] + ratios["val"]:
        return Split.VAL
    return Split.TEST


def content_hash_of(*, rows: list[tuple[int, str, dict]], label_schema: dict) -> str:
    """sha256 of the canonical JSON of (item, split, slice hashes, annotation) in item order, and the schema."""
    body = {
        "schema": label_schema,
        "items": [
            [item_id, split, [s["sha256"] for s in snap["slices"]], _frozen(snap)]
            for item_id, split, snap in sorted(rows, key=lambda r: r[0])
        ],
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def leaks_between(*, train: list[dict], test: list[dict], bits: int) -> list[dict]:
    """Train/test slice pairs that are exact (same sha256) or near (dHash within `bits`) duplicates.

    Pigeonhole index: split each 64-bit hash into bits + 1 chunks; two hashes within `bits` of each
    other agree exactly on at least one chunk, so only hashes sharing a chunk are compared.
    """
    chunks = _chunk_bounds(bits)
    index: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for entry in test:
        for number, (low, width) in enumerate(chunks):
            index[(number, _chunk(entry["phash"], low, width))].append(entry)
    found = {}
    for entry in train:
        for number, (low, width) in enumerate(chunks):
            for other in index.get((number, _chunk(entry["phash"], low, width)), ()):
                distance = hamming_distance(entry["phash"], other["phash"])
                if distance <= bits:
                    key = (entry["sha256"], other["sha256"])
                    found[key] = {
                        "train": entry["item"],
                        "test": other["item"],
                        "distance": distance,
                        "exact": entry["sha256"] == other["sha256"],
                    }
    return sorted(found.values(), key=lambda leak: (leak["train"], leak["test"]))


def _chunk_bounds(bits: int) -> list[tuple[int, int]]:
    count = min(bits + 1, DHASH_BITS)
    width, extra = divmod(DHASH_BITS, count)
    bounds, low = [], 0
    for number in range(count):
        size = width + (1 if number < extra else 0)
        bounds.append((low, size))
        low += size
    return bounds


def _chunk(phash: str, low: int, width: int) -> int:
    return (int(phash, 16) >> low) & ((1 << width) - 1)


def _checked_ratios(ratios: dict) -> dict:
    try:
        values = {name: float(ratios[name]) for name in ("train", "val", "test")}
    except (KeyError, TypeError, ValueError):
        raise ValidationError({"ratios": [RATIOS_MUST_SUM_TO_ONE]}) from None
    if any(not 0 <= v <= 1 for v in values.values()) or abs(sum(values.values()) - 1) > 1e-6:
        raise ValidationError({"ratios": [RATIOS_MUST_SUM_TO_ONE]})
    return values


def _slices_by_item(dataset: Dataset) -> dict[int, list[dict]]:
    slices = defaultdict(list)
    fields = ("item_id", "position", "offset_y", "width", "height", "sha256", "perceptual_hash")
    for row in Slice.objects.filter(dataset=dataset).order_by("item_id", "position").values_list(*fields):
        item_id, position, offset_y, width, height, sha256, phash = row
        slices[item_id].append(
            {
                "position": position,
                "offset_y": offset_y,
                "width": width,
                "height": height,
                "sha256": sha256,
                "phash": phash,
            }
        )
    return slices


def _frozen(snapshot: dict):
    annotation = snapshot.get("annotation")
    return None if annotation is None else [annotation["shapes"], annotation["relations"]]


# Which of an item's documents a version freezes: reviewed work first, then the newest.
_STATUS_RANK = {TaskStatus.ACCEPTED: 0, TaskStatus.SUBMITTED: 1}


def _annotations_by_item(dataset: Dataset) -> dict[int, dict]:
    chosen: dict[int, tuple] = {}
    documents = Annotation.objects.filter(task__dataset=dataset, version__gt=0).values_list(
        "task__item_id",
        "task_id",
        "task__status",
        "task__overlap_index",
        "version",
        "updated_at",
        "shapes",
        "relations",
    )
    for item_id, task_id, status, overlap_index, version, updated_at, shapes, relations in documents:
        key = (
            _STATUS_RANK.get(status, 2),
            overlap_index if status == TaskStatus.ACCEPTED else 0,
            -(updated_at.timestamp() if updated_at else 0.0),
        )
        if item_id not in chosen or key < chosen[item_id][0]:
            chosen[item_id] = (
                key,
                {"task": task_id, "status": status, "version": version, "shapes": shapes, "relations": relations},
            )
    return {item_id: document for item_id, (_, document) in chosen.items()}


def _snapshot(item: Item, slices: list[dict], annotation: dict | None) -> dict:
    return {
        "kind": item.kind,
        "name": item.name,
        "width": item.width,
        "height": item.height,
        "slices": slices,
        "annotation": annotation,
    }


def _stats(rows, ratios: dict) -> dict:
    splits = Counter(split for _, split, _ in rows)
    return {
        "items": len(rows),
        "slices": sum(len(snap["slices"]) for _, _, snap in rows),
        "episodes": sum(1 for _, _, snap in rows if snap["kind"] == "episode"),
        "pixels": sum(s["width"] * s["height"] for _, _, snap in rows for s in snap["slices"]),
        "splits": {name: splits.get(name, 0) for name in ratios},
        "annotated": sum(1 for _, _, snap in rows if snap["annotation"] is not None),
        "classes": dict(
            sorted(
                Counter(
                    shape["class"]
                    for _, _, snap in rows
                    if snap["annotation"]
                    for shape in snap["annotation"]["shapes"]
                ).items()
            )
        ),
    }


def _split_entries(rows, split: str) -> list[dict]:
    return [
        {"item": item.pk, "sha256": s["sha256"], "phash": s["phash"]}
        for item, item_split, snap in rows
        if item_split == split
        for s in snap["slices"]
    ]


def _version_store(*, dataset, user, seed, ratios, note, rows) -> DatasetVersion:
    leaks = leaks_between(
        train=_split_entries(rows, Split.TRAIN),
        test=_split_entries(rows, Split.TEST),
        bits=settings.DATASET_NEAR_DUPLICATE_BITS,
    )
    content_hash = content_hash_of(
        rows=[(item.pk, split, snap) for item, split, snap in rows], label_schema=dataset.label_schema
    )
    with transaction.atomic():
        number = (DatasetVersion.objects.filter(dataset=dataset).aggregate(n=Max("number"))["n"] or 0) + 1
        version = DatasetVersion.objects.create(
            dataset=dataset,
            number=number,
            note=note,
            seed=seed,
            ratios=ratios,
            content_hash=content_hash,
            stats=_stats(rows, ratios),
            leaks=leaks,
            created_by=user,
        )
        VersionItem.objects.bulk_create(
            [VersionItem(version=version, item=item, split=split, snapshot=snap) for item, split, snap in rows],
            batch_size=2000,
        )
        send_after_commit(version_frozen, version_id=version.pk, dataset_id=dataset.pk)
    return version
