"""Annotation tasks (the Task model: one item for one annotator): making them, assigning them,
"next task", and the item status they imply.

"Next task" must hand one task to exactly one of many annotators asking at once: the claim is a
conditional UPDATE (`assignee IS NULL`), so two people racing for a task get one each, never the same.
"""

import fcntl
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Min
from django.utils import timezone

from labeling.access import annotator_team_ids, check_may_assign
from labeling.models import Annotation, Dataset, Item, ItemStatus, Task, TaskStatus
from portal.teams.models import Membership

MAX_OVERLAP = 10
OVERLAP_RANGE = f"Overlap is the number of annotators per item, from 1 to {MAX_OVERLAP}."
ITEMS_NOT_IN_DATASET = "These items are not in the dataset: {ids}."
NOT_AN_ANNOTATOR = "The assignee must be an annotator of the dataset's team."
ALREADY_HOLDS_ITEM = "This person already holds another task of the same item."
ONLY_OPEN_TASKS_MOVE = "Only tasks not yet submitted can be reassigned; this one is {status}."
_CLAIM_ATTEMPTS = 5
OWN_WORK_ORDER = (TaskStatus.REJECTED, TaskStatus.IN_PROGRESS, TaskStatus.NEW)


def tasks_create(*, dataset: Dataset, user, overlap: int = 1, item_ids: list[int] | None = None) -> dict:
    """Make the tasks each item lacks so it has `overlap` of them; existing tasks are kept."""
    check_may_assign(user, dataset)
    if not isinstance(overlap, int) or not 1 <= overlap <= MAX_OVERLAP:
        raise ValidationError({"overlap": [OVERLAP_RANGE]})
    if item_ids is None:
        item_ids = list(Item.objects.filter(dataset=dataset).values_list("pk", flat=True))
    else:
        item_ids = items_in_dataset(dataset=dataset, item_ids=item_ids)
    return tasks_create_for_items(dataset=dataset, item_ids=item_ids, overlap=overlap)


def items_in_dataset(*, dataset: Dataset, item_ids: list[int]) -> list[int]:
    """The ids, each once, checked to be the dataset's items (a ValidationError names the others)."""
    wanted = sorted(set(item_ids))
    found = set()
    for start in range(0, len(wanted), 500):  # SQLite bounds the parameters of one statement
        chunk = wanted[start : start + 500]
        found |= set(Item.objects.filter(dataset=dataset, pk__in=chunk).values_list("pk", flat=True))
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise ValidationError({"items": [ITEMS_NOT_IN_DATASET.format(ids=", ".join(map(str, missing[:20])))]})
    return wanted


def tasks_create_for_items(*, dataset: Dataset, item_ids: list[int], overlap: int) -> dict:
    """The tasks these items (checked by the caller) lack to have `overlap` each, with their documents."""
    existing = set(Task.objects.filter(dataset=dataset).values_list("item_id", "overlap_index"))
    wanted = [
        Task(dataset=dataset, item_id=item_id, overlap_index=index)
        for item_id in sorted(item_ids)
        for index in range(overlap)
        if (item_id, index) not in existing
    ]
    with transaction.atomic():
        created = Task.objects.bulk_create(wanted, batch_size=2000, ignore_conflicts=True)
        # ignore_conflicts leaves pks unset on some databases: read back what now lacks a document.
        fresh = Task.objects.filter(dataset=dataset, annotation__isnull=True).values_list("pk", flat=True)
        Annotation.objects.bulk_create([Annotation(task_id=pk) for pk in fresh], batch_size=2000, ignore_conflicts=True)
    return {"created": len(created), "existing": len(existing)}


def task_assign(*, task: Task, user, assignee) -> Task:
    check_may_assign(user, task.dataset)
    if task.status not in (TaskStatus.NEW, TaskStatus.IN_PROGRESS, TaskStatus.REJECTED):
        raise ValidationError({"assignee": [ONLY_OPEN_TASKS_MOVE.format(status=task.get_status_display().lower())]})
    if (
        assignee is not None
        and not Membership.objects.filter(user=assignee, team_id=task.dataset.team_id, is_annotator=True).exists()
    ):
        raise ValidationError({"assignee": [NOT_AN_ANNOTATOR]})
    task.assignee = assignee
    task.assigned_at = timezone.now() if assignee else None
    try:
        with transaction.atomic():
            task.save(update_fields=["assignee", "assigned_at"])
    except IntegrityError:
        raise ValidationError({"assignee": [ALREADY_HOLDS_ITEM]}) from None
    return task


def task_next(*, user, dataset_id: int | None = None) -> Task | None:
    """The user's next task: their rejected work, then work in progress, then new tasks given to them,
    then an unassigned new task of a dataset they annotate, claimed for them. None when nothing waits."""
    own = Task.objects.filter(assignee=user, status__in=OWN_WORK_ORDER)
    if dataset_id is not None:
        own = own.filter(dataset_id=dataset_id)
    # One query for the oldest task of each kind (a walk of the (assignee, status, id) index), not one
    # per kind: "next task" is the annotator's most frequent call (docs/benchmarks.md, Annotation).
    oldest = dict(own.values_list("status").annotate(first=Min("id")).order_by())
    for status in OWN_WORK_ORDER:
        if status in oldest:
            return Task.objects.select_related("dataset", "item", "assignee", "reviewer").get(pk=oldest[status])
    return _claim_unassigned(user=user, dataset_id=dataset_id)


def _claim_unassigned(*, user, dataset_id: int | None) -> Task | None:
    teams = annotator_team_ids(user)
    if not teams:
        return None
    open_tasks = Task.objects.filter(assignee__isnull=True, status=TaskStatus.NEW, dataset__team_id__in=teams)
    if dataset_id is not None:
        open_tasks = open_tasks.filter(dataset_id=dataset_id)
    # Overlap measures agreement between people: skip items this person already holds a task of.
    open_tasks = open_tasks.exclude(item__tasks__assignee=user).order_by("dataset_id", "id")
    for _ in range(_CLAIM_ATTEMPTS):
        try:
            return _claim_first(open_tasks=open_tasks, user=user)
        except IntegrityError:  # assigned a task of the same item by hand meanwhile: look again
            continue
    return None


def _claim_first(*, open_tasks, user) -> Task | None:
    """Pick and take the oldest open task in one transaction. PostgreSQL: rows another claim holds
    are skipped (FOR UPDATE SKIP LOCKED), so twenty people asking at once take twenty tasks in
    parallel. SQLite: the IMMEDIATE transaction already runs one writer at a time; claims queue on a
    file lock first (_claims_in_turn)."""
    with _claims_in_turn(), transaction.atomic():
        # With the rows the response shows (the caller needs not read the task again).
        task = open_tasks.select_related("dataset", "item", "reviewer").select_for_update(
            skip_locked=True, of=("self",)
        )
        task = task.first()
        if task is None:
            return None
        task.assignee, task.assigned_at = user, timezone.now()
        task.save(update_fields=["assignee", "assigned_at"])
        return task


@contextmanager
def _claims_in_turn():
    """SQLite: one claim at a time per database file, across threads and processes, waiting in the
    kernel (flock). Without it twenty claims race for BEGIN IMMEDIATE, and SQLite's busy handler makes
    each loser sleep with a growing back-off (up to 100 ms a try): a claim that lost a few times sleeps
    while newer ones take the lock, and one annotator waited 1.9 s (docs/benchmarks.md, Annotation).
    A blocked flock wakes as soon as the holder lets go. PostgreSQL needs none (SKIP LOCKED)."""
    name = connection.settings_dict["NAME"]
    if connection.vendor != "sqlite" or not name or str(name).startswith(":memory:") or "mode=memory" in str(name):
        yield
        return
    with open(f"{name}.claims.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def item_status_refresh(*, item_id: int) -> str:
    """Set the item's status from its tasks' statuses; call inside the transaction that changed one."""
    statuses = set(Task.objects.filter(item_id=item_id).values_list("status", flat=True))
    status = item_status_of(statuses)
    Item.objects.filter(pk=item_id).exclude(status=status).update(status=status)
    return status


def item_status_of(statuses: set[str]) -> str:
    if not statuses or statuses == {TaskStatus.NEW}:
        return ItemStatus.NEW
    if statuses == {TaskStatus.ACCEPTED}:
        return ItemStatus.DONE
    if statuses <= {TaskStatus.SUBMITTED, TaskStatus.ACCEPTED}:
        return ItemStatus.IN_REVIEW
    return ItemStatus.IN_PROGRESS
