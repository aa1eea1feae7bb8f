"""Inputs staged for jobs (docs/models.md "Inputs staged for jobs"): a job that trains on a dataset
version waits here while labeling exports the version (or an identical finished export is reused) and
the export is unpacked where the job's account can read it; then it is submitted to the scheduler."""

from django.conf import settings
from django.db import models


class StagingState(models.TextChoices):
    STAGING = "staging", "Staging its inputs"
    SUBMITTED = "submitted", "Submitted"
    FAILED = "failed", "Failed"


class InputStaging(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    dataset_version = models.ForeignKey("labeling.DatasetVersion", on_delete=models.PROTECT, related_name="+")
    export_format = models.CharField(max_length=20)
    export_options = models.JSONField(default=dict)  # as labeling parsed them, every default filled
    export = models.ForeignKey("labeling.ExportJob", null=True, on_delete=models.SET_NULL, related_name="+")
    reused_export = models.BooleanField(default=False)  # an identical finished export was there already
    # What job_submit gets once the inputs are staged (time limit in seconds), already checked once.
    job_spec = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=StagingState.choices, default=StagingState.STAGING)
    error = models.TextField(blank=True)
    job = models.OneToOneField("scheduler.Job", null=True, on_delete=models.SET_NULL, related_name="+")
    # Register the job's checkpoint as a version of this model of the team when the job succeeds (the demo
    # does; docs/models.md): done by beat's staging sweep, recorded here, never twice.
    register_as = models.CharField(max_length=100, blank=True)
    model_version = models.ForeignKey("training.ModelVersion", null=True, on_delete=models.SET_NULL, related_name="+")
    register_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["state", "created_at"], name="staging_state_created")]

    def __str__(self) -> str:
        return f"staging {self.pk} ({self.state})"
