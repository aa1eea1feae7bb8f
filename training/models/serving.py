"""Serving (docs/models.md "Serving"): one image sent to a model version's predict endpoint is a row here,
answered by the inference worker. The row, not the Celery result backend (the project keeps none), holds
the state and the shapes, so a request that outlived its wait is read back later, across restarts."""

from django.conf import settings
from django.db import models


class PredictionState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class PredictionRequest(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # The version the alias named when the request came in (an alias move applies to the next request).
    model_version = models.ForeignKey("training.ModelVersion", on_delete=models.CASCADE, related_name="+")
    threshold = models.FloatField(null=True, blank=True)  # None: the detector's default
    classes = models.JSONField(null=True, blank=True)  # None: every class
    state = models.CharField(max_length=10, choices=PredictionState.choices, default=PredictionState.QUEUED)
    shapes = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    inference_ms = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"prediction {self.pk} ({self.state})"
