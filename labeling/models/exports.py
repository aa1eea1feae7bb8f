"""Export jobs: a frozen version written to COCO, YOLO, Pascal VOC or Label Studio JSON.

The job records what happened (state, progress, counts, the file or the error); the worker
(labeling/services/exports.py) writes the archive under MEDIA_ROOT/datasets/<id>/exports/.
"""

from django.conf import settings
from django.db import models


class ExportFormat(models.TextChoices):
    COCO = "coco", "COCO"
    YOLO = "yolo", "YOLO"
    VOC = "voc", "Pascal VOC"
    LABEL_STUDIO = "label_studio", "Label Studio JSON"


class ExportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


EXPORT_FINISHED_STATES = (ExportState.SUCCEEDED, ExportState.FAILED)


class ExportJob(models.Model):
    dataset = models.ForeignKey("labeling.Dataset", on_delete=models.CASCADE, related_name="export_jobs")
    version = models.ForeignKey("labeling.DatasetVersion", on_delete=models.CASCADE, related_name="export_jobs")
    format = models.CharField(max_length=12, choices=ExportFormat.choices)
    options = models.JSONField(default=dict)  # as parsed (labeling/formats/options.py), every default filled
    state = models.CharField(max_length=10, choices=ExportState.choices, default=ExportState.QUEUED)
    progress = models.FloatField(default=0.0)
    items_total = models.PositiveIntegerField(default=0)
    items_done = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict)  # items, images, annotations, groups, tags, relations, dropped
    file_path = models.CharField(max_length=500, blank=True)  # relative to MEDIA_ROOT
    file_size = models.PositiveBigIntegerField(default=0)
    error = models.CharField(max_length=1000, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["version", "-id"], name="exportjob_version_recent")]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.format}, {self.state})"
