"""A lead's work on a dataset's tasks (docs/annotation.md, "Making and assigning tasks"): make tasks
for a scope of items and hand them out, reassign, and choose reviewers.

Each call is one transaction: a refusal (bad input, or a rule that one task would break) writes
nothing. Assignment is a compare-and-set on the rows read (`assignee IS NULL`, or the assignee read),
so a "next task" claim landing meanwhile makes the call fail with a conflict instead of being
overwritten.

Round-robin walks the tasks in item order and gives each to the next chosen annotator who holds no
other task of the same item and is not the task's reviewer: with overlap k and k or more annotators,
every item's k tasks go to k different people, and the load stays even (±1 per person).
"""

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from labeling.access import check_may_assign
from labeling.models import Dataset, Task, TaskStatus
from labeling.selectors.item_scopes import item_ids_in_scope, scope_errors
from labeling.services.annotation_tasks import MAX_OVERLAP, OVERLAP_RANGE, tasks_create_for_items
from portal.errors import Conflict
from portal.teams.models import Membership

NOT_ANNOTATORS = "Not annotators of the dataset's team: {ids}."
NOT_A_REVIEWER = "The reviewer must be a reviewer or team admin of the dataset's team."
TOO_FEW_ANNOTATORS = "{overlap} annotators per item need at least {overlap} annotators chosen; {chosen} chosen."
REVIEWER_ANNOTATES = "The reviewer cannot be one of the annotators: nobody reviews their own work."
TASKS_NOT_IN_DATASET = "These tasks are not in the dataset: {ids}."
CHOOSE_TASKS = "Choose at least one task."
CLOSED_TASKS = "Only tasks not yet submitted can be reassigned; these are not: {ids}."
NOBODY_FREE = (
    "Every chosen annotator already holds another task of the item, or reviews it, for tasks {ids}: "
    "choose more annotators."
)
REVIEWER_OWN_WORK = "The reviewer is the annotator of tasks {ids}: nobody reviews their own work."
CHANGED_MEANWHILE = 'Some of these tasks were assigned meanwhile (someone took one with "next task"); try again.'
OPEN_STATUSES = (TaskStatus.NEW, TaskStatus.IN_PROGRESS, TaskStatus.REJECTED)
_SHOWN_IDS = 20


def tasks_plan(
    *,
    dataset: Dataset,
    user,
    scope: str = "all",
    filters: dict | None = None,
    item_ids: list[int] | None = None,
    version_id: int | None = None,
    overlap: int = 1,
    annotator_ids: list[int] | None = None,
    reviewer_id: int | None = None,
) -> dict:
    """Make the tasks the scope's items lack so each has `overlap`, then (annotators given) hand the
    unassigned ones out round-robin, and (reviewer given) route them to that reviewer.

    Scopes as labeling/selectors/item_scopes.py reads them; `version_id` narrows any scope to that
    version's items."""
    check_may_assign(user, dataset)
    annotators = _annotators_of(dataset, annotator_ids or [])
    reviewer = _reviewer_of(dataset, reviewer_id)
    _check_plan(scope=scope, filters=filters, item_ids=item_ids, overlap=overlap, annotators=annotators)
    if reviewer is not None and reviewer in annotators:
        raise ValidationError({"reviewer": [REVIEWER_ANNOTATES]})
    with transaction.atomic():
        items = item_ids_in_scope(
            dataset=dataset, scope=scope, filters=filters, item_ids=item_ids, version_id=version_id
        )
        counts = tasks_create_for_items(dataset=dataset, item_ids=items, overlap=overlap)
        tasks = _tasks_of_items(dataset, set(items))
        assigned = 0
        if annotators:
            open_tasks = [t for t in tasks if t["assignee_id"] is None and t["status"] == TaskStatus.NEW]
            assigned = _assign_round_robin(dataset, open_tasks, tasks, annotators, reviewer_for=reviewer)
        if reviewer is not None:
            _set_reviewer(
                dataset, [t for t in tasks if t["status"] in OPEN_STATUSES + (TaskStatus.SUBMITTED,)], reviewer
            )
    unassigned = sum(1 for t in tasks if t["assignee_id"] is None) - assigned
    return {"items": len(items), **counts, "assigned": assigned, "unassigned": unassigned}


def tasks_assign(*, dataset: Dataset, user, task_ids: list[int], annotator_ids: list[int] | None) -> dict:
    """Give the chosen tasks to one person (by hand) or round-robin to several; `annotator_ids` None or
    empty takes them back (unassigned, for "next task" to hand out). Submitted and reviewed work stays."""
    check_may_assign(user, dataset)
    annotators = _annotators_of(dataset, annotator_ids or [])
    with transaction.atomic():
        chosen = _chosen_tasks(dataset, task_ids)
        closed = [t["id"] for t in chosen if t["status"] not in OPEN_STATUSES]
        if closed:
            raise ValidationError({"tasks": [CLOSED_TASKS.format(ids=_ids(closed))]})
        if not annotators:
            changed = _write_assignments(dataset, {None: chosen})
            return {"assigned": 0, "unassigned": changed}
        others = _tasks_of_items(dataset, {t["item_id"] for t in chosen}, exclude={t["id"] for t in chosen})
        assigned = _assign_round_robin(dataset, chosen, others, annotators, reviewer_for=None)
    return {"assigned": assigned, "unassigned": 0}


def tasks_set_reviewer(*, dataset: Dataset, user, task_ids: list[int], reviewer_id: int | None) -> dict:
    """Route the chosen tasks' review to one reviewer, or (None) back to any reviewer of the team."""
    check_may_assign(user, dataset)
    reviewer = _reviewer_of(dataset, reviewer_id)
    with transaction.atomic():
        chosen = _chosen_tasks(dataset, task_ids)
        _set_reviewer(dataset, chosen, reviewer)
    return {"updated": len(chosen)}


def _check_plan(*, scope, filters, item_ids, overlap, annotators) -> None:
    errors = scope_errors(scope=scope, filters=filters, item_ids=item_ids)
    if not isinstance(overlap, int) or not 1 <= overlap <= MAX_OVERLAP:
        errors["overlap"] = [OVERLAP_RANGE]
    elif annotators and len(annotators) < overlap:
        errors["annotators"] = [TOO_FEW_ANNOTATORS.format(overlap=overlap, chosen=len(annotators))]
    if errors:
        raise ValidationError(errors)


def _annotators_of(dataset: Dataset, ids: list[int]) -> list[int]:
    """The chosen people in the order given, once each; all must annotate for the dataset's team."""
    unique = list(dict.fromkeys(ids))
    found = set(
        Membership.objects.filter(team_id=dataset.team_id, is_annotator=True, user_id__in=unique).values_list(
            "user_id", flat=True
        )
    )
    missing = [i for i in unique if i not in found]
    if missing:
        raise ValidationError({"annotators": [NOT_ANNOTATORS.format(ids=_ids(missing))]})
    return unique


def _reviewer_of(dataset: Dataset, reviewer_id: int | None) -> int | None:
    if reviewer_id is None:
        return None
    may_review = Membership.objects.filter(team_id=dataset.team_id, user_id=reviewer_id).filter(
        Q(is_reviewer=True) | Q(is_team_admin=True)
    )
    if not may_review.exists():
        raise ValidationError({"reviewer": [NOT_A_REVIEWER]})
    return reviewer_id


def _tasks_of_items(dataset, item_ids: set[int], exclude: set[int] = frozenset()) -> list[dict]:
    """The dataset's tasks of these items (read whole and narrowed here: no IN list of 100,000 ids)."""
    rows = Task.objects.filter(dataset=dataset).order_by("item_id", "overlap_index")
    fields = ("id", "item_id", "assignee_id", "reviewer_id", "status")
    return [t for t in rows.values(*fields) if t["item_id"] in item_ids and t["id"] not in exclude]


def _chosen_tasks(dataset, task_ids: list[int]) -> list[dict]:
    if not task_ids:
        raise ValidationError({"tasks": [CHOOSE_TASKS]})
    wanted = set(task_ids)
    rows = []
    for chunk in batched(sorted(wanted), 500):
        rows += Task.objects.filter(dataset=dataset, pk__in=chunk).values(
            "id", "item_id", "assignee_id", "reviewer_id", "status"
        )
    missing = sorted(wanted - {t["id"] for t in rows})
    if missing:
        raise ValidationError({"tasks": [TASKS_NOT_IN_DATASET.format(ids=_ids(missing))]})
    return sorted(rows, key=lambda t: (t["item_id"], t["id"]))


def _assign_round_robin(dataset, tasks: list[dict], others: list[dict], annotators: list[int], *, reviewer_for) -> int:
    """Place each task (see the module's docstring), then write each person's share in one UPDATE per
    batch, each row guarded by the assignee it had when read."""
    holders = defaultdict(set)
    for t in others:
        if t["assignee_id"] is not None:
            holders[t["item_id"]].add(t["assignee_id"])
    placed, stuck, turn = defaultdict(list), [], 0
    for t in tasks:
        blocked = holders[t["item_id"]] | {t["reviewer_id"], reviewer_for}
        for step in range(len(annotators)):
            person = annotators[(turn + step) % len(annotators)]
            if person not in blocked:
                placed[person].append(t)
                holders[t["item_id"]].add(person)
                turn = (turn + step + 1) % len(annotators)
                break
        else:
            stuck.append(t["id"])
    if stuck:
        raise ValidationError({"annotators": [NOBODY_FREE.format(ids=_ids(stuck))]})
    return _write_assignments(dataset, placed)


def _write_assignments(dataset, placed: dict) -> int:
    """Give each person their share ({person or None: tasks}). The tasks are released first (so two
    people may swap tasks of one item), each row guarded by the assignee it had when read: a row
    changed since (a "next task" claim) or a person now holding two tasks of an item fails the call."""
    now = timezone.now()
    changed = 0
    try:
        with transaction.atomic():
            _release(dataset, [t for share in placed.values() for t in share if t["assignee_id"] is not None])
            for person, share in placed.items():
                if person is None:
                    changed += len(share)
                    continue
                for chunk in batched([t["id"] for t in share], 500):
                    rows = Task.objects.filter(dataset=dataset, pk__in=chunk, assignee__isnull=True)
                    _expect(rows.update(assignee_id=person, assigned_at=now), len(chunk))
                    changed += len(chunk)
    except IntegrityError:
        raise Conflict(CHANGED_MEANWHILE) from None
    return changed


def _release(dataset, tasks: list[dict]) -> None:
    by_previous = defaultdict(list)
    for t in tasks:
        by_previous[t["assignee_id"]].append(t["id"])
    for previous, ids in by_previous.items():
        for chunk in batched(ids, 500):
            rows = Task.objects.filter(dataset=dataset, pk__in=chunk, assignee_id=previous, status__in=OPEN_STATUSES)
            _expect(rows.update(assignee=None, assigned_at=None), len(chunk))


def _expect(updated: int, wanted: int) -> None:
    if updated != wanted:
        raise Conflict(CHANGED_MEANWHILE)


def _set_reviewer(dataset, tasks: list[dict], reviewer_id: int | None) -> None:
    if reviewer_id is not None:
        own = [t["id"] for t in tasks if t["assignee_id"] == reviewer_id]
        if own:
            raise ValidationError({"reviewer": [REVIEWER_OWN_WORK.format(ids=_ids(own))]})
    for chunk in batched([t["id"] for t in tasks], 500):
        Task.objects.filter(dataset=dataset, pk__in=chunk).update(reviewer_id=reviewer_id)


def batched(values, size: int):
    values = list(values)
    return (values[start : start + size] for start in range(0, len(values), size))


def _ids(ids) -> str:
    ids = list(ids)
    shown = ", ".join(map(str, ids[:_SHOWN_IDS]))
    return shown if len(ids) <= _SHOWN_IDS else f"{shown} and {len(ids) - _SHOWN_IDS} more"
