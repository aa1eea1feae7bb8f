"""Importing COCO, YOLO or Label Studio annotations onto a dataset's existing images.

All or nothing: the file is read, every record's image reference is checked and matched, every
item's document is checked against the label schema, and only when no record has a problem are
the documents written, in one transaction, through the annotation service (a new version and a
revision per task, source "import"). Each matched item's document goes to its task with overlap
index 0 (made, unassigned, when missing).

References are matched by file name, never opened: a stored name (<sha256>.png, item-<id>.png, as
exports write them, matched by content within the team), a slice's original name, or an item's name
(YOLO: the same without the extension). `..`, absolute paths, URLs and paths into another dataset's
storage are refused.
"""

import io
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from labeling.documents import DocumentInvalid, ItemFrame, document_check
from labeling.formats.base import ImportRecord
from labeling.formats.merge import ItemDocument, merge_record, shape_coerced
from labeling.formats.read import READERS, reference_name, reference_path, reference_problem
from labeling.ingest.archives import ArchiveFile, EntryRefusal, archive_entries
from labeling.ingest.refusals import IngestRefused
from labeling.models import EDITABLE_STATUSES, Annotation, Character, Dataset, Item, Slice, Task
from labeling.schema import normalized_schema
from portal.errors import Invalid

UNKNOWN_FORMAT = "Choose one of: " + ", ".join(READERS) + "."
NO_FILE = "Send the annotations as `file` (a JSON file, or a zip for YOLO)."
FILE_TOO_LARGE = "The file is {size} bytes; the limit is {limit} bytes."
YOLO_NEEDS_ZIP = "A YOLO import is a zip with data.yaml (or classes.txt) and the label files."
REFUSED = "Nothing was imported: {count} record(s) have problems."
NO_MATCH = "no image named {name!r} in this dataset"
AMBIGUOUS = "{name!r} names {count} images of this dataset; use the stored name (<sha256>.png)"
OTHER_DATASET = "{name!r} is a path into another dataset's storage"
NAMED_TWICE = "the same image is named again by {other}"
SIZE_MISMATCH = "the file says the image is {declared}, but {name!r} is {actual}"
TASK_FROZEN = "item {item}'s task is {status}: its annotation can no longer change"
ERRORS_SHOWN = 200


class AnnotationImportRefused(Invalid):
    """A 400 whose body lists every problem record (`records`), as the contract's extension key."""

    def __init__(self, errors: list[dict], *, field_name: str = "records"):
        shown = errors[:ERRORS_SHOWN]
        messages = [f"{e['record']}: {e['message']}" for e in shown]
        super().__init__({field_name: messages}, records=shown, error_count=len(errors))


@dataclass(frozen=True)
class _Target:
    item_id: int
    offset_y: int
    width: int
    height: int


def annotation_import(*, dataset: Dataset, user, format: str, upload) -> dict:
    if format not in READERS:
        raise ValidationError({"format": [UNKNOWN_FORMAT]})
    files, errors = _files(upload, format)
    read = READERS[format](files)
    errors += read.errors
    index = _DatasetIndex(dataset)
    documents: dict[int, ItemDocument] = defaultdict(ItemDocument)
    claimed: dict[_Target, str] = {}
    for record in read.records:
        target = _target_of(record, index, errors)
        if target is None:
            continue
        if target in claimed:
            errors.append({"record": record.record, "message": NAMED_TWICE.format(other=claimed[target])})
            continue
        claimed[target] = record.record
        merge_record(
            documents[target.item_id], record, offset_y=target.offset_y, width=target.width, height=target.height
        )
    checked = _checked_documents(dataset, documents, errors)
    if errors:
        raise AnnotationImportRefused(errors)
    return _write(dataset=dataset, user=user, checked=checked)


# ---------------------------------------------------------------- the uploaded file


def _files(upload, format: str) -> tuple[list[tuple[str, bytes]], list[dict]]:
    if upload is None:
        raise ValidationError({"file": [NO_FILE]})
    limit = settings.INGEST_LIMITS.max_file_bytes
    if upload.size > limit:
        raise Invalid({"file": [FILE_TOO_LARGE.format(size=upload.size, limit=limit)]}, status=413, limit=limit)
    data = upload.read()
    if data[:4] != b"PK\x03\x04":
        if format == "yolo":
            raise ValidationError({"file": [YOLO_NEEDS_ZIP]})
        return [(upload.name or "upload.json", data)], []
    files, errors = [], []
    try:
        for entry in archive_entries(source=io.BytesIO(data), limits=settings.INGEST_LIMITS):
            if isinstance(entry, ArchiveFile):
                if format == "yolo" or entry.display_name.lower().endswith(".json"):
                    files.append((entry.display_name, entry.data))
            elif isinstance(entry, EntryRefusal):
                errors.append({"record": entry.display_name, "message": entry.refusal.reason})
    except IngestRefused as refused:
        raise ValidationError({"file": [refused.refusal.reason]}) from None
    return files, errors


# ---------------------------------------------------------------- matching


class _DatasetIndex:
    """Every name an import may use for an image of this dataset, loaded once.

    Stored names are content hashes, so an export of any dataset of the team names the same pictures
    here: `<sha256>.png` is this dataset's slice with that content, and `item-<id>.png` (stitched) is
    this dataset's item holding the same slices, in order, as item <id> of the team. Whether a picture
    exists outside the team is never looked up: the answer to a name this dataset does not hold is the
    same, whatever the rest of the site holds.
    """

    def __init__(self, dataset: Dataset):
        self.dataset = dataset
        self.names: dict[str, set[_Target]] = defaultdict(set)
        self.items: dict[int, _Target] = {}
        self.hashes_of: dict[int, list[str]] = defaultdict(list)  # item id -> its slices' sha256, in order
        self.item_of: dict[str, int] = {}  # sha256 -> item id (one slice per content in a dataset)
        for item_id, name, width, height in Item.objects.filter(dataset=dataset).values_list(
            "id", "name", "width", "height"
        ):
            target = _Target(item_id, 0, width, height)
            self.items[item_id] = target
            self._add(target, f"item-{item_id}", f"item-{item_id}.png", name, PurePosixPath(name).stem)
        for item_id, sha256, offset_y, width, height, original in (
            Slice.objects.filter(dataset=dataset)
            .order_by("item_id", "position")
            .values_list("item_id", "sha256", "offset_y", "width", "height", "original_name")
        ):
            target = _Target(item_id, offset_y, width, height)
            self._add(target, sha256, f"{sha256}.png", original, PurePosixPath(original).stem)
            self.hashes_of[item_id].append(sha256)
            self.item_of[sha256] = item_id

    def _add(self, target: _Target, *names: str) -> None:
        for name in names:
            if name:
                self.names[name].add(target)

    def targets(self, name: str) -> set[_Target]:
        """The images `name` may mean here: by name, and by content for a stitched item of the team."""
        found = set(self.names.get(name, ()))
        stitched = re.fullmatch(r"item-(\d+)(?:\.png)?", name)
        if stitched:
            found |= self._items_showing(int(stitched.group(1)))
        return found

    def _items_showing(self, item_id: int) -> set[_Target]:
        hashes = list(
            Slice.objects.filter(item_id=item_id, dataset__team_id=self.dataset.team_id)
            .order_by("position")
            .values_list("sha256", flat=True)
        )
        here = self.item_of.get(hashes[0]) if hashes else None
        return {self.items[here]} if here is not None and self.hashes_of[here] == hashes else set()

    def foreign(self, path: str) -> bool:
        """The reference is a path into another dataset's storage (read from the text, nothing looked up)."""
        found = re.search(r"(?:^|/)datasets/(\d+)/", path)
        return bool(found) and int(found.group(1)) != self.dataset.pk


def _target_of(record: ImportRecord, index: _DatasetIndex, errors: list) -> _Target | None:
    problem = reference_problem(record.reference)
    if problem:
        errors.append({"record": record.record, "message": problem})
        return None
    path, name = reference_path(record.reference), reference_name(record.reference)
    if index.foreign(path):
        errors.append({"record": record.record, "message": OTHER_DATASET.format(name=name)})
        return None
    targets = index.targets(name)
    if len(targets) != 1:
        message = NO_MATCH.format(name=name) if not targets else AMBIGUOUS.format(name=name, count=len(targets))
        errors.append({"record": record.record, "message": message})
        return None
    target = next(iter(targets))
    declared = (record.width, record.height)
    if all(declared) and declared != (target.width, target.height):
        errors.append(
            {
                "record": record.record,
                "message": SIZE_MISMATCH.format(
                    declared=f"{declared[0]} × {declared[1]}", name=name, actual=f"{target.width} × {target.height}"
                ),
            }
        )
        return None
    return target


# ---------------------------------------------------------------- checking and writing


def _checked_documents(dataset: Dataset, documents: dict[int, ItemDocument], errors: list) -> dict:
    schema = normalized_schema(dataset.label_schema)
    types = {c["name"]: {a["name"]: a["type"] for a in c["attributes"]} for c in schema["classes"]}
    character_ids = (
        set(Character.objects.filter(series_id=dataset.series_id).values_list("pk", flat=True))
        if dataset.series_id
        else None
    )
    items = Item.objects.in_bulk(list(documents))
    tasks = {t.item_id: t for t in Task.objects.filter(item_id__in=list(documents), overlap_index=0)}
    saved = dict(Annotation.objects.filter(task__in=tasks.values()).values_list("task__item_id", "shapes"))
    checked = {}
    for item_id, document in documents.items():
        label = ", ".join(document.records)
        task = tasks.get(item_id)
        if task is not None and task.status not in EDITABLE_STATUSES:
            errors.append(
                {"record": label, "message": TASK_FROZEN.format(item=item_id, status=task.get_status_display().lower())}
            )
            continue
        shapes = [
            shape_coerced(shape, types.get(shape.get("class"), {}), character_ids) for shape in document.shapes.values()
        ]
        payload = {"shapes": shapes, "relations": list(document.relations.values())}
        item = items[item_id]
        try:
            document_check(
                payload,
                schema=schema,
                frame=ItemFrame(item.width, item.height),
                character_ids=character_ids,
                saved_classes={s["id"]: s.get("class") for s in saved.get(item_id, []) if isinstance(s, dict)},
            )
        except DocumentInvalid as invalid:
            errors += [{"record": label, "message": m} for ms in invalid.errors.values() for m in ms]
            continue
        checked[item] = payload
    return checked


def _write(*, dataset: Dataset, user, checked: dict) -> dict:
    from labeling.services.annotations import annotation_overwrite

    created = shapes = relations = 0
    with transaction.atomic():
        for item, payload in checked.items():
            task, made = Task.objects.get_or_create(item=item, overlap_index=0, defaults={"dataset": dataset})
            created += made
            saved = annotation_overwrite(
                task=task, user=user, shapes=payload["shapes"], relations=payload["relations"], source="import"
            )
            shapes += len(saved.annotation.shapes)
            relations += len(saved.annotation.relations)
    return {"items": len(checked), "shapes": shapes, "relations": relations, "tasks_created": created}
