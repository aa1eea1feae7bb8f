"""Pipelines (docs/pipelines.md): a team's named pipeline and the history of its spec, each version
stored with the sha256 of its canonical JSON. Runs and step runs come with the advance loop."""

from django.conf import settings
from django.db import models


class Pipeline(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    # Whose rights a scheduled or triggered run has (a run by hand has its starter's).
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    last_version_number = models.PositiveIntegerField(default=0)  # numbers never reused, as the registry's
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="pipeline_unique_name_per_team")]

    def __str__(self) -> str:
        return self.name


class PipelineSpecVersion(models.Model):
    """One saved spec of a pipeline; immutable (a run names the version it ran)."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64, db_index=True)  # sha256 of the document's canonical JSON
    document = models.JSONField()  # the parsed spec, what runs read
    source = models.TextField()  # the text as written (YAML comments and layout), what the editor shows
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pipeline_id", "-number"]
        constraints = [models.UniqueConstraint(fields=["pipeline", "number"], name="pipelinespec_unique_number")]

    def __str__(self) -> str:
        return f"{self.pipeline} v{self.number}"
