"""Pre-label runs (docs/models.md "Pre-label runs"): a model version predicts a set of a dataset's items as
an ordinary scheduled job; a training task stages its inputs and submits the job, another ingests the job's
JSONL into labeling's `Prediction` rows."""

from django.conf import settings
from django.db import models


class PrelabelState(models.TextChoices):
    STAGING = "staging", "Staging"  # a task links the images and the model into a folder, then submits the job
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


PRELABEL_FINISHED_STATES = (PrelabelState.SUCCEEDED, PrelabelState.FAILED, PrelabelState.CANCELLED)


class PrelabelRun(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    model_version = models.ForeignKey("training.ModelVersion", on_delete=models.PROTECT, related_name="+")
    alias = models.CharField(max_length=64, blank=True)  # the alias named, resolved to model_version at start
    dataset = models.ForeignKey("labeling.Dataset", on_delete=models.CASCADE, related_name="+")
    threshold = models.FloatField()
    classes = models.JSONField(default=list, blank=True)  # empty: every class the model knows
    # {"scope": all|untasked|filter|selection, "filter": {grid parameter: value}, "items": [ids],
    # "version": dataset version id or null}: labeling/selectors/item_scopes.py reads it
    item_set = models.JSONField(default=dict, blank=True)
    # the job's {"gpus": n, "time_limit_s": s, "working_dir": path}, submitted once the inputs are staged
    job_spec = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=PrelabelState.choices, default=PrelabelState.STAGING)
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
