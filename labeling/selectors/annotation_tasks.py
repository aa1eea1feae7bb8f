"""Reading annotation tasks: queues, the workspace's payload, an item's history."""

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


def tasks_for_user(
    *,
    user,
    mine: bool = False,
    review: bool = False,
    status: str | None = None,
    dataset_id: int | None = None,
    assignee_id: int | None = None,
):
    # Each narrowing query is written without the visibility OR, so it walks one index.
    if mine:
        tasks = Task.objects.filter(assignee=user)
    elif review:  # submitted work this person may review: their teams', never their own
        tasks = Task.objects.filter(status=TaskStatus.SUBMITTED).exclude(assignee=user)
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
    # The dataset's schema and description are large and unused by a task list.
    return tasks.select_related("dataset", "item", "assignee").defer("dataset__label_schema", "dataset__description")


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
