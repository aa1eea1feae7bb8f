"""Pre-label runs (docs/models.md "Pre-label runs"): a model version predicts every item of a dataset as an
ordinary scheduled job; a training task ingests the job's JSONL into labeling's `Prediction` rows."""

from django.conf import settings
from django.db import models


class PrelabelState(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class PrelabelRun(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    model_version = models.ForeignKey("training.ModelVersion", on_delete=models.PROTECT, related_name="+")
    alias = models.CharField(max_length=64, blank=True)  # the alias named, resolved to model_version at start
    dataset = models.ForeignKey("labeling.Dataset", on_delete=models.CASCADE, related_name="+")
    threshold = models.FloatField()
    classes = models.JSONField(default=list, blank=True)  # empty: every class the model knows
    state = models.CharField(max_length=10, choices=PrelabelState.choices, default=PrelabelState.RUNNING)
    error = models.TextField(blank=True)
    job = models.OneToOneField("scheduler.Job", null=True, on_delete=models.SET_NULL, related_name="+")
    items_total = models.PositiveIntegerField(default=0)
    items_ingested = models.PositiveIntegerField(default=0)
    ingest_offset = models.PositiveBigIntegerField(default=0)  # bytes of predictions.jsonl already ingested
    # {"kept": n, "dropped": {class: n}, "refused": n, "unknown_items": n}, summed over the ingested items
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["state"], name="prelabel_state")]

    def __str__(self) -> str:
        return f"pre-label run {self.pk} ({self.state})"
