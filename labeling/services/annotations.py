"""Saving annotation documents: optimistic versions, revisions, the item's class index.

A save names the version it was edited from (If-Match). The write is a compare-and-set UPDATE on
(task, version), so of two saves from the same version exactly one lands and the other gets 412
with the server's document: nobody's work is ever overwritten silently.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from labeling.access import check_may_annotate
from labeling.documents import CheckedDocument, DocumentInvalid, ItemFrame, diff_summary, document_check, document_diff
from labeling.models import (
    EDITABLE_STATUSES,
    Annotation,
    AnnotationRevision,
    Character,
    ItemClass,
    Review,
    Task,
    TaskStatus,
)
from labeling.schema import normalized_schema
from labeling.services.annotation_tasks import item_status_refresh
from portal.errors import Conflict, PreconditionFailed, PreconditionRequired
from portal.inputs import is_id_text

# Two saves closer than this count the time between them as time spent annotating.
ACTIVE_GAP = timedelta(minutes=5)
# The most focused time one report may add: the workspace reports at least every two minutes.
FOCUSED_SECONDS_PER_REPORT = 600


def revision_merge_window() -> timedelta:
    """One person's editor saves within this long of a revision's first save are kept as that
    revision (AnnotationRevision): history in steps, not a whole copy of the document per autosave."""
    return timedelta(seconds=settings.ANNOTATION_REVISION_MERGE_SECONDS)


IF_MATCH_REQUIRED = 'Send If-Match with the version you edited (e.g. If-Match: "3"; "0" before the first save).'
IF_MATCH_MALFORMED = 'If-Match must be one version number in quotes, e.g. "3".'
STALE_VERSION = "Someone saved this task since you loaded it (version {current}, yours was {yours}). Merge or reload."
FROZEN = "This task is {status}: its annotation can no longer change."


@dataclass
class SavedAnnotation:
    annotation: Annotation
    task_status: str
    clipped: list[str] = field(default_factory=list)


def version_from_if_match(header: str | None) -> int:
    if header is None or not header.strip():
        raise PreconditionRequired(IF_MATCH_REQUIRED)
    value = header.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not is_id_text(value):
        raise ValidationError({"If-Match": [IF_MATCH_MALFORMED]})
    return int(value)


def annotation_save(
    *, task: Task, user, document: dict, if_match: str | None, save_id: str | None = None, focused_seconds: int = 0
) -> SavedAnnotation:
    """The annotator's save from the workspace or the API. `save_id`, the client's id for this save, is
    kept on the revision (latest_save_id); `focused_seconds`, the time the workspace was in use since
    its last report, is added to the task when the save lands."""
    check_may_annotate(user, task)
    base_version = version_from_if_match(if_match)
    if task.status not in EDITABLE_STATUSES:
        raise Conflict(FROZEN.format(status=task.get_status_display().lower()))
    return _write(
        task=task,
        user=user,
        document=document,
        base_version=base_version,
        source="editor",
        save_id=save_id,
        focused_seconds=focused_seconds,
    )


def task_focused_time_add(*, task: Task, user, seconds: int) -> Task:
    """Focused time the workspace measured while nothing needed saving (a read, a pause before submit)."""
    check_may_annotate(user, task)
    seconds = min(max(seconds, 0), FOCUSED_SECONDS_PER_REPORT)
    if seconds:
        Task.objects.filter(pk=task.pk).update(focused_seconds=F("focused_seconds") + seconds)
        task.refresh_from_db(fields=["focused_seconds"])
    return task


def latest_save_id(*, task: Task) -> str | None:
    """The client id of the save that made the task's current version (None: an import, or an older client)."""
    return AnnotationRevision.objects.filter(task=task).order_by("-version").values_list("save_id", flat=True).first()


def annotation_overwrite(*, task: Task, user, shapes: list, relations: list, source: str = "import") -> SavedAnnotation:
    """An import's write: a new version on top of whatever is there, kept in history like any save."""
    current = annotation_of(task=task).version
    return _write(
        task=task, user=user, document={"shapes": shapes, "relations": relations}, base_version=current, source=source
    )


def _write(
    *,
    task: Task,
    user,
    document: dict,
    base_version: int,
    source: str,
    save_id: str | None = None,
    focused_seconds: int = 0,
) -> SavedAnnotation:
    current = annotation_of(task=task)
    if current.version != base_version:
        raise _stale(task=task, yours=base_version)
    checked = _checked(task=task, document=document, saved=current)
    now = timezone.now()
    with transaction.atomic():
        landed = Annotation.objects.filter(task=task, version=base_version).update(
            version=F("version") + 1,
            shapes=checked.shapes,
            relations=checked.relations,
            flags=checked.flags,
            updated_at=now,
            updated_by=user,
        )
        if not landed:
            raise _stale(task=task, yours=base_version)
        # The update landed on base_version, so what was read above is exactly what it replaced, and
        # the row now holds exactly this.
        annotation = Annotation(
            task=task,
            version=base_version + 1,
            shapes=checked.shapes,
            relations=checked.relations,
            flags=checked.flags,
            updated_at=now,
            updated_by=user,
        )
        _revision_record(
            task=task, annotation=annotation, before=current, user=user, source=source, now=now, save_id=save_id
        )
        _task_touch(task=task, now=now, user=user, source=source, focused_seconds=focused_seconds)
        if _classes(current.shapes) != _classes(checked.shapes):  # else the item's class index cannot change
            item_classes_refresh(item_id=task.item_id, dataset_id=task.dataset_id)
    annotation.save_id = save_id
    return SavedAnnotation(annotation=annotation, task_status=task.status, clipped=checked.clipped)


def _classes(shapes: list) -> set[str]:
    return {shape["class"] for shape in shapes if isinstance(shape, dict)}


def _revision_record(
    *, task: Task, annotation: Annotation, before: Annotation, user, source: str, now, save_id: str | None
) -> None:
    """Keep the new version in history: merged into the task's latest revision when that is this
    person's editor work begun within revision_merge_window() and no review has read it; else a new revision.
    Its summary counts the changes since the revision before it."""
    document = {"shapes": annotation.shapes, "relations": annotation.relations}
    latest = (
        AnnotationRevision.objects.filter(task=task)
        .order_by("-version")
        .only("pk", "first_version", "author_id", "source", "created_at")
        .first()
    )
    if latest is not None and _mergeable(latest, task=task, user=user, source=source, now=now):
        base = (
            AnnotationRevision.objects.filter(task=task, version__lt=latest.first_version)
            .order_by("-version")
            .values("shapes", "relations")
            .first()
        ) or {"shapes": [], "relations": []}
        AnnotationRevision.objects.filter(pk=latest.pk).update(
            version=annotation.version,
            shapes=annotation.shapes,
            relations=annotation.relations,
            summary=diff_summary(document_diff(base, document)),
            saved_at=now,
            save_id=save_id,
        )
        return
    summary = diff_summary(document_diff({"shapes": before.shapes, "relations": before.relations}, document))
    AnnotationRevision.objects.create(
        task=task,
        item_id=task.item_id,
        version=annotation.version,
        first_version=annotation.version,
        author=user,
        source=source,
        shapes=annotation.shapes,
        relations=annotation.relations,
        summary=summary,
        saved_at=now,
        save_id=save_id,
    )


def _mergeable(latest: AnnotationRevision, *, task: Task, user, source: str, now) -> bool:
    # A version a reviewer judged is never merged away: asked of the reviews themselves (in this
    # save's transaction), not of the task's status as read before it.
    return (
        source == "editor"
        and latest.source == "editor"
        and latest.author_id == user.pk
        and now - latest.created_at <= revision_merge_window()
        and not Review.objects.filter(task=task, document_version__gte=latest.first_version).exists()
    )


def annotation_of(*, task: Task) -> Annotation:
    """The task's document; tasks_create makes it, this covers tasks made any other way."""
    return Annotation.objects.get_or_create(task=task)[0]


def _checked(*, task: Task, document: dict, saved: Annotation) -> CheckedDocument:
    dataset = task.dataset
    character_ids = (
        set(Character.objects.filter(series_id=dataset.series_id).values_list("pk", flat=True))
        if dataset.series_id
        else None
    )
    try:
        return document_check(
            document,
            schema=normalized_schema(dataset.label_schema),
            frame=ItemFrame(width=task.item.width, height=task.item.height),
            character_ids=character_ids,
            saved_classes={s["id"]: s.get("class") for s in saved.shapes if isinstance(s, dict)},
        )
    except DocumentInvalid as invalid:
        raise ValidationError(invalid.errors) from None


def _stale(*, task: Task, yours: int) -> PreconditionFailed:
    annotation = Annotation.objects.get(task=task)
    return PreconditionFailed(
        STALE_VERSION.format(current=annotation.version, yours=yours),
        current={
            "version": annotation.version,
            "shapes": annotation.shapes,
            "relations": annotation.relations,
            "flags": annotation.flags,
            "updated_at": annotation.updated_at.isoformat() if annotation.updated_at else None,
            "updated_by": annotation.updated_by.username if annotation.updated_by else None,
            "save_id": latest_save_id(task=task),
        },
    )


def _task_touch(*, task: Task, now, user, source: str, focused_seconds: int = 0) -> None:
    """The annotator's save moves the task into progress and adds to its active and focused time."""
    if source != "editor":
        return
    updates = {"last_activity_at": now}
    if focused_seconds > 0:
        updates["focused_seconds"] = F("focused_seconds") + min(focused_seconds, FOCUSED_SECONDS_PER_REPORT)
    if task.last_activity_at and now - task.last_activity_at <= ACTIVE_GAP:
        updates["active_seconds"] = F("active_seconds") + int((now - task.last_activity_at).total_seconds())
    if task.status in (TaskStatus.NEW, TaskStatus.REJECTED):
        updates["status"] = TaskStatus.IN_PROGRESS
    Task.objects.filter(pk=task.pk).update(**updates)
    task.refresh_from_db(fields=["status", "active_seconds", "focused_seconds", "last_activity_at"])
    if "status" in updates:
        item_status_refresh(item_id=task.item_id)


def item_classes_refresh(*, item_id: int, dataset_id: int) -> None:
    """Rewrite the item's class index from all its tasks' documents."""
    used = set()
    for shapes in Annotation.objects.filter(task__item_id=item_id).values_list("shapes", flat=True):
        used.update(shape["class"] for shape in shapes)
    indexed = set(ItemClass.objects.filter(item_id=item_id).values_list("class_name", flat=True))
    if indexed - used:
        ItemClass.objects.filter(item_id=item_id, class_name__in=indexed - used).delete()
    ItemClass.objects.bulk_create(
        [ItemClass(dataset_id=dataset_id, item_id=item_id, class_name=name) for name in sorted(used - indexed)],
        ignore_conflicts=True,
    )


def annotation_diff(*, task: Task, from_version: int, to_version: int) -> dict:
    return document_diff(*annotation_versions(task=task, from_version=from_version, to_version=to_version))


def annotation_versions(*, task: Task, from_version: int, to_version: int) -> tuple[dict, dict]:
    """The task's documents at two saved versions (version 0: the empty document)."""
    documents = {}
    for version in (from_version, to_version):
        if version == 0:
            documents[version] = {"shapes": [], "relations": []}
            continue
        revision = AnnotationRevision.objects.filter(task=task, version=version).first()
        if revision is None:
            raise ValidationError(
                {"from" if version == from_version else "to": [_no_such_version(task=task, version=version)]}
            )
        documents[version] = {"shapes": revision.shapes, "relations": revision.relations}
    return documents[from_version], documents[to_version]


def _no_such_version(*, task: Task, version: int) -> str:
    merged_into = (
        AnnotationRevision.objects.filter(task=task, first_version__lte=version, version__gt=version)
        .values_list("version", flat=True)
        .first()
    )
    if merged_into is not None:
        return (
            f"Version {version} of task {task.pk} is kept only as part of version {merged_into}: "
            f"saves within {revision_merge_window().total_seconds():g} seconds are kept as one revision."
        )
    return f"Task {task.pk} has no version {version}."
