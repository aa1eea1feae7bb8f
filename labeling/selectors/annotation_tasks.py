"""Reading annotation tasks: queues, the workspace's payload, an item's history."""

from collections import defaultdict

from django.db.models import Count, Q
from django.db.models.functions import Coalesce

from labeling.access import tasks_visible_to, team_ids_where_user_reviews
from labeling.documents import shape_names
from labeling.models import (
    AnnotationRevision,
    Character,
    Dataset,
    Item,
    Review,
    Slice,
    Task,
    TaskStatus,
)
from labeling.schema import normalized_schema
from portal.accounts.models import User


def tasks_for_user(
    *,
    user,
    mine: bool = False,
    review: bool = False,
    status: str | None = None,
    dataset_id: int | None = None,
    assignee_id: int | None = None,
    reviewer_id: int | None = None,
    unassigned: bool = False,
):
    # Each narrowing query is written without the visibility OR, so it walks one index.
    if mine:
        tasks = Task.objects.filter(assignee=user)
    elif review:  # submitted work this person may review: their teams', never their own
        tasks = Task.objects.filter(status=TaskStatus.SUBMITTED).exclude(assignee=user)
        tasks = tasks.filter(Q(reviewer__isnull=True) | Q(reviewer=user))  # a lead may route a task to one reviewer
        if not user.is_staff:
            reviewed = Dataset.objects.filter(team_id__in=team_ids_where_user_reviews(user)).values_list(
                "pk", flat=True
            )
            tasks = tasks.filter(dataset_id__in=list(reviewed))
    else:
        tasks = tasks_visible_to(user)
    if status:
        tasks = tasks.filter(status=status)
    if dataset_id is not None:
        tasks = tasks.filter(dataset_id=dataset_id)
    if assignee_id is not None:
        tasks = tasks.filter(assignee_id=assignee_id)
    if unassigned:
        tasks = tasks.filter(assignee__isnull=True)
    if reviewer_id is not None:
        tasks = tasks.filter(reviewer_id=reviewer_id)
    # The dataset's schema and description are large and unused by a task list.
    return tasks.select_related("dataset", "item", "assignee", "reviewer").defer(
        "dataset__label_schema", "dataset__description"
    )


def viewer_slices(*, item: Item) -> list[dict]:
    slices = (
        Slice.objects.filter(item=item).order_by("position").values("id", "position", "offset_y", "width", "height")
    )
    return [{**s, "dzi": f"/api/v1/images/{s['id']}/tiles/image.dzi"} for s in slices]


def task_workspace_payload(*, task: Task) -> dict:
    """What the workspace and review pages need besides the document: item, slices, schema, registry."""
    dataset = task.dataset
    characters = (
        list(Character.objects.filter(series_id=dataset.series_id).order_by("name").values("id", "name", "aliases"))
        if dataset.series_id
        else None
    )
    latest_review = Review.objects.filter(task=task).order_by("-id").first()
    return {
        "item": {
            "id": task.item_id,
            "name": task.item.name,
            "kind": task.item.kind,
            "width": task.item.width,
            "height": task.item.height,
            "slices": viewer_slices(item=task.item),
        },
        "dataset": {"id": dataset.pk, "name": dataset.name},
        "schema": normalized_schema(dataset.label_schema),
        "characters": characters,
        "latest_review": review_payload(latest_review) if latest_review else None,
    }


def review_payload(review: Review) -> dict:
    return {
        "id": review.pk,
        "decision": review.decision,
        "comment": review.comment,
        "shape": review.shape_id,
        "reviewer": review.reviewer.username if review.reviewer else None,
        "document_version": review.document_version,
        "created_at": review.created_at.isoformat(),
    }


def item_history(*, item: Item) -> dict:
    revisions = (
        AnnotationRevision.objects.filter(item=item)
        .select_related("author")
        .order_by("-id")
        .only(
            "id",
            "task_id",
            "version",
            "first_version",
            "author__username",
            "source",
            "summary",
            "created_at",
            "saved_at",
        )
    )
    reviews = Review.objects.filter(task__item=item).select_related("reviewer").order_by("-id")
    return {
        "revisions": [
            {
                "id": r.pk,
                "task": r.task_id,
                "version": r.version,
                "first_version": r.first_version,
                "source": r.source,
                "author": r.author.username if r.author else None,
                "summary": r.summary,
                "created_at": r.created_at.isoformat(),
                "saved_at": r.saved_at.isoformat(),
            }
            for r in revisions
        ],
        "reviews": [{"task": r.task_id, **review_payload(r)} for r in reviews],
    }


def shape_names_at(*, task_id: int, version: int) -> dict[str, str]:
    """The names of the shapes in the task's document at `version` (documents.shape_names); the
    revision holding a merged version stands for it."""
    shapes = (
        AnnotationRevision.objects.filter(task_id=task_id, first_version__lte=version, version__gte=version)
        .values_list("shapes", flat=True)
        .first()
    )
    return shape_names(shapes or [])


PROGRESS_STATES = tuple(TaskStatus.values)


def task_progress(*, dataset: Dataset) -> dict:
    """Tasks by status per annotator and per reviewer (the one a lead chose, else who reviewed it), with
    the unassigned ones as a row of their own (person None). Two GROUP BYs over the (dataset, ...) rows."""
    tasks = Task.objects.filter(dataset=dataset).order_by()
    by_annotator = tasks.values_list("assignee_id", "status").annotate(n=Count("id"))
    reviewer = Coalesce("reviewer_id", "reviewed_by_id")
    by_reviewer = tasks.annotate(who=reviewer).values_list("who", "status").annotate(n=Count("id"))
    rows_a, rows_r = _progress_rows(by_annotator), _progress_rows(by_reviewer)
    names = dict(User.objects.filter(pk__in=set(rows_a) | set(rows_r)).values_list("pk", "username"))
    return {
        "states": list(PROGRESS_STATES),
        "annotators": _progress_list(rows_a, names),
        "reviewers": _progress_list(rows_r, names),
        "total": {state: sum(row[state] for row in rows_a.values()) for state in PROGRESS_STATES},
    }


def _progress_rows(grouped) -> dict:
    rows = defaultdict(lambda: dict.fromkeys(PROGRESS_STATES, 0))
    for person, status, n in grouped:
        rows[person][status] += n
    return rows


def _progress_list(rows: dict, names: dict) -> list[dict]:
    """Named people by name, then the row of nobody (unassigned, or no reviewer yet)."""
    people = sorted((p for p in rows if p is not None), key=lambda p: names.get(p, ""))
    listed = [{"user": p, "username": names.get(p), **rows[p], "total": sum(rows[p].values())} for p in people]
    if None in rows:
        listed.append({"user": None, "username": None, **rows[None], "total": sum(rows[None].values())})
    return listed
