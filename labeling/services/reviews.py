"""Submitting work and reviewing it: accept, or reject with a comment back to the annotator."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from labeling.access import check_may_annotate, check_may_review
from labeling.models import Review, ReviewDecision, Task, TaskStatus
from labeling.services.annotation_tasks import item_status_refresh
from labeling.services.annotations import annotation_of
from portal.errors import Conflict, PreconditionFailed
from portal.notifications.models import Notification
from portal.notifications.services import notification_send

NOT_SUBMITTABLE = "This task is {status}; only work in progress or sent back can be submitted."
NOT_REVIEWABLE = "This task is {status}; only submitted work is reviewed."
COMMENT_REQUIRED = "Say what to fix: a rejection needs a comment."
UNKNOWN_SHAPE = "The document has no shape {shape!r} to pin the comment to."
SUBMITTED_VERSION_STALE = "The task was saved since (version {current}); submit what is saved now, or reload."
MAX_COMMENT = 5000


def task_submit(*, task: Task, user, version: int | None = None) -> Task:
    """Hand the work in. `version`, when given, must be the saved one: you submit what you saw."""
    check_may_annotate(user, task)
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task.pk)
        if task.status not in (TaskStatus.NEW, TaskStatus.IN_PROGRESS, TaskStatus.REJECTED):
            raise Conflict(NOT_SUBMITTABLE.format(status=task.get_status_display().lower()))
        current = annotation_of(task=task).version
        if version is not None and version != current:
            raise PreconditionFailed(SUBMITTED_VERSION_STALE.format(current=current), current={"version": current})
        task.status, task.submitted_at = TaskStatus.SUBMITTED, timezone.now()
        task.save(update_fields=["status", "submitted_at"])
        item_status_refresh(item_id=task.item_id)
    return task


def task_review(*, task: Task, user, decision: str, comment: str = "", shape_id: str = "") -> Review:
    check_may_review(user, task)
    comment = (comment or "").strip()
    _check_review_input(decision=decision, comment=comment)
    with transaction.atomic():
        task = Task.objects.select_for_update().select_related("dataset", "item").get(pk=task.pk)
        if task.status != TaskStatus.SUBMITTED:
            raise Conflict(NOT_REVIEWABLE.format(status=task.get_status_display().lower()))
        annotation = annotation_of(task=task)
        if shape_id and shape_id not in {s["id"] for s in annotation.shapes}:
            raise ValidationError({"shape": [UNKNOWN_SHAPE.format(shape=shape_id)]})
        review = Review.objects.create(
            task=task,
            reviewer=user,
            decision=decision,
            comment=comment,
            shape_id=shape_id,
            document_version=annotation.version,
        )
        task.status = TaskStatus.ACCEPTED if decision == ReviewDecision.ACCEPT else TaskStatus.REJECTED
        task.reviewed_at, task.reviewed_by = review.created_at, user
        task.save(update_fields=["status", "reviewed_at", "reviewed_by"])
        item_status_refresh(item_id=task.item_id)
        _notify_annotator(task=task, review=review)
    return review


def _check_review_input(*, decision: str, comment: str) -> None:
    if decision not in ReviewDecision.values:
        raise ValidationError({"decision": ["Choose accept or reject."]})
    if decision == ReviewDecision.REJECT and not comment:
        raise ValidationError({"comment": [COMMENT_REQUIRED]})
    if len(comment) > MAX_COMMENT:
        raise ValidationError({"comment": [f"A comment has at most {MAX_COMMENT} characters."]})


def _notify_annotator(*, task: Task, review: Review) -> None:
    if task.assignee_id is None:
        return
    rejected = review.decision == ReviewDecision.REJECT
    notification_send(
        user=task.assignee,
        kind=Notification.Kind.WORK_REJECTED if rejected else Notification.Kind.WORK_ACCEPTED,
        title=f"{'Sent back' if rejected else 'Accepted'}: {task.item.name} ({task.dataset.name})",
        body=review.comment,
        url=f"/label/{task.pk}/",
    )
