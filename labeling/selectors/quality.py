"""Reading a dataset's quality figures: tasks by status, per-annotator throughput and rejection
rates, and agreement between overlapped annotators (labeling/quality.py computes it)."""

from collections import defaultdict

from django.db.models import Count, Q, Sum

from labeling.models import Annotation, Dataset, Item, Review, ReviewDecision, Task, TaskStatus
from labeling.quality import agreement_of


def dataset_quality(*, dataset: Dataset) -> dict:
    tasks = Task.objects.filter(dataset=dataset)
    per_annotator = _per_annotator(tasks)
    reviews = Review.objects.filter(task__dataset=dataset)
    totals = reviews.aggregate(all=Count("id"), rejected=Count("id", filter=Q(decision=ReviewDecision.REJECT)))
    agreement = agreement_of(_overlapped_documents(dataset))
    return {
        "dataset": {
            "items": dataset.item_count,
            "items_done": Item.objects.filter(dataset=dataset, status="done").count(),
            "tasks": tasks.count(),
            "tasks_by_status": dict(tasks.values_list("status").annotate(n=Count("id")).order_by()),
            "active_seconds": tasks.aggregate(s=Sum("active_seconds"))["s"] or 0,
            **_focused(tasks),
            "reviews": totals["all"],
            "rejection_rate": round(totals["rejected"] / totals["all"], 4) if totals["all"] else None,
        },
        "annotators": per_annotator,
        "agreement": agreement.as_dict(),
    }


def _focused(tasks) -> dict:
    """The workspace's focused time (page visible and focused, an input within a minute): in all, and
    per task that has some (tasks never opened in the workspace would pull the mean down)."""
    totals = tasks.aggregate(seconds=Sum("focused_seconds"), tasks=Count("id", filter=Q(focused_seconds__gt=0)))
    return {"focused_seconds": totals["seconds"] or 0, "focused_per_task_s": _mean(totals["seconds"], totals["tasks"])}


def _mean(seconds: int | None, tasks: int) -> float | None:
    return round(seconds / tasks, 1) if tasks and seconds else None


def _per_annotator(tasks) -> list[dict]:
    rows = (
        tasks.filter(assignee__isnull=False)
        .values("assignee_id", "assignee__username")
        .annotate(
            tasks=Count("id"),
            done=Count("id", filter=Q(status=TaskStatus.ACCEPTED)),
            submitted=Count("id", filter=Q(status=TaskStatus.SUBMITTED)),
            active_seconds=Sum("active_seconds"),
            focused_total=Sum("focused_seconds"),
            focused_tasks=Count("id", filter=Q(focused_seconds__gt=0)),
        )
        .order_by("assignee__username")
    )
    reviews = defaultdict(lambda: [0, 0])
    for assignee_id, decision, n in (
        Review.objects.filter(task__in=tasks)
        .values_list("task__assignee_id", "decision")
        .annotate(n=Count("id"))
        .order_by()
    ):
        reviews[assignee_id][0] += n
        reviews[assignee_id][1] += n if decision == ReviewDecision.REJECT else 0
    result = []
    for row in rows:
        reviewed, rejected = reviews[row["assignee_id"]]
        result.append(
            {
                "annotator": row["assignee__username"],
                "tasks": row["tasks"],
                "items_done": row["done"],
                "submitted": row["submitted"],
                "active_seconds": row["active_seconds"] or 0,
                "focused_seconds": row["focused_total"] or 0,
                "focused_per_task_s": _mean(row["focused_total"], row["focused_tasks"]),
                "reviews": reviewed,
                "rejection_rate": round(rejected / reviewed, 4) if reviewed else None,
            }
        )
    return result


def _overlapped_documents(dataset: Dataset) -> dict[int, list[list[dict]]]:
    handed_in = Task.objects.filter(dataset=dataset, status__in=(TaskStatus.SUBMITTED, TaskStatus.ACCEPTED))
    overlapped = handed_in.values("item_id").annotate(n=Count("id")).filter(n__gt=1).values("item_id")
    documents = (
        Annotation.objects.filter(task__in=handed_in.filter(item_id__in=overlapped))
        .order_by("task__item_id", "task_id")
        .values_list("task__item_id", "shapes")
    )
    by_item = defaultdict(list)
    for item_id, shapes in documents:
        by_item[item_id].append(shapes)
    return dict(by_item)
