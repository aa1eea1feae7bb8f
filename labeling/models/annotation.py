"""Labeling tasks, their annotation documents, history and reviews (docs/decisions.md §8).

A task is one item for one annotator; overlap k makes k tasks per item (overlap_index 0..k-1).
The document belongs to the task and carries a version that every save must name (If-Match);
each save also writes a revision, so the item's history shows who changed what and when.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class TaskStatus(models.TextChoices):
    NEW = "new", "New"
    IN_PROGRESS = "in_progress", "In progress"
    SUBMITTED = "submitted", "Submitted"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


# The annotator may change the document in these; submitted and accepted work is frozen for review.
EDITABLE_STATUSES = (TaskStatus.NEW, TaskStatus.IN_PROGRESS, TaskStatus.REJECTED)


class Task(models.Model):
    dataset = models.ForeignKey("labeling.Dataset", on_delete=models.CASCADE, related_name="tasks")
    item = models.ForeignKey("labeling.Item", on_delete=models.CASCADE, related_name="tasks")
    overlap_index = models.PositiveSmallIntegerField(default=0)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="labeling_tasks"
    )
    status = models.CharField(max_length=12, choices=TaskStatus.choices, default=TaskStatus.NEW)
    # Seconds between saves less than ACTIVE_GAP apart: time spent drawing, measured by the server.
    active_seconds = models.PositiveIntegerField(default=0)
    # Seconds the workspace was in front of its annotator (focused, an input within the last minute),
    # as the workspace measured them and sent with its saves: what the task cost in labeling time.
    focused_seconds = models.PositiveIntegerField(default=0)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The reviewer a lead chose for this task: only they (or a team admin) review it; none: any reviewer.
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "overlap_index"], name="task_unique_overlap_per_item"),
            # Overlap measures agreement between people: one person never holds two tasks of an item.
            models.UniqueConstraint(
                fields=["item", "assignee"], condition=Q(assignee__isnull=False), name="task_one_per_annotator_per_item"
            ),
        ]
        indexes = [
            models.Index(fields=["assignee", "status", "id"], name="task_assignee_status_id"),
            models.Index(fields=["dataset", "status", "id"], name="task_dataset_status_id"),
            # "next task" looks for unassigned new work in a dataset, oldest first.
            models.Index(
                fields=["dataset", "id"], condition=Q(assignee__isnull=True, status="new"), name="task_unassigned_new"
            ),
            # The labeling report reads the tasks handed in during a range.
            models.Index(fields=["submitted_at"], name="task_submitted_at"),
        ]

    def __str__(self) -> str:
        return f"task {self.pk} ({self.status})"


class Annotation(models.Model):
    """The task's document: shapes and relations in item pixel coordinates (labeling/documents.py)."""

    task = models.OneToOneField(Task, on_delete=models.CASCADE, primary_key=True, related_name="annotation")
    version = models.PositiveIntegerField(default=0)  # 0: nothing saved yet
    shapes = models.JSONField(default=list)
    relations = models.JSONField(default=list)
    flags = models.JSONField(default=list)  # shapes kept though their class left the schema
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"annotation of task {self.task_id} v{self.version}"


class AnnotationRevision(models.Model):
    """A saved version of a task's document, kept whole so any two can be compared.

    The workspace autosaves within a second of every change, so one person's saves in a short burst
    are kept as one revision (versions first_version..version; ATELIER_ANNOTATION_REVISION_MERGE_SECONDS):
    history shows the work in steps a person recognises, without a whole copy per keystroke."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="revisions")
    item = models.ForeignKey("labeling.Item", on_delete=models.CASCADE, related_name="annotation_revisions")
    version = models.PositiveIntegerField()  # the document as it was at this version, the last one merged in
    first_version = models.PositiveIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=10, default="editor")  # editor | import
    shapes = models.JSONField()
    relations = models.JSONField()
    summary = models.JSONField()  # counts of shapes and relations added, removed, changed since the revision before
    created_at = models.DateTimeField(auto_now_add=True)
    saved_at = models.DateTimeField()  # the last save merged in
    # The workspace's id for the last save merged in: after a reload it recognises its own save
    # (one that landed while the page went away) instead of taking it for someone else's.
    save_id = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "version"], name="revision_unique_version")]
        indexes = [models.Index(fields=["item", "-id"], name="revision_item_recent")]


class ReviewDecision(models.TextChoices):
    ACCEPT = "accept", "Accepted"
    REJECT = "reject", "Rejected"


class Review(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decision = models.CharField(max_length=6, choices=ReviewDecision.choices)
    comment = models.TextField(blank=True)
    shape_id = models.CharField(max_length=64, blank=True)  # the comment may be pinned to a shape
    document_version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task_id", "id"]
        indexes = [models.Index(fields=["created_at"], name="review_created_at")]  # the labeling report's range


class ItemClass(models.Model):
    """Which classes and tags an item's documents use: the dataset grid filters on it by index.

    Rewritten for the item whenever one of its documents is saved (labeling/services/annotations.py).
    """

    dataset = models.ForeignKey("labeling.Dataset", on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey("labeling.Item", on_delete=models.CASCADE, related_name="classes_used")
    class_name = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "class_name"], name="itemclass_unique")]
        indexes = [models.Index(fields=["dataset", "class_name", "item"], name="itemclass_dataset_class_item")]
