"""The model registry (docs/models.md): registered models, their immutable versions with lineage (the
dataset version and the job), the files copied into model storage, and aliases with their history."""

from django.conf import settings
from django.db import models


class RegisteredModel(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    # The last version number handed out: numbers are never reused, even after a delete, so a number
    # in the alias history or in someone's notes always meant one version.
    last_version_number = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="model_unique_name_per_team")]

    def __str__(self) -> str:
        return self.name


class CheckpointFormat(models.TextChoices):
    STATE_DICT = "torch_state_dict", "torch state_dict"
    TORCHSCRIPT = "torchscript", "TorchScript"


class ModelVersion(models.Model):
    """Immutable once registered: services create and delete versions, never update them."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    format = models.CharField(max_length=20, choices=CheckpointFormat.choices)
    params = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    # Lineage: PROTECT, so a job or a dataset version a model learned from is not deleted under it.
    dataset_version = models.ForeignKey(
        "labeling.DatasetVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    job = models.ForeignKey("scheduler.Job", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["model", "number"], name="modelversion_unique_number"),
            # Registered from a job means both links; the lineage is never half known.
            models.CheckConstraint(
                condition=models.Q(job__isnull=True, dataset_version__isnull=True)
                | models.Q(job__isnull=False, dataset_version__isnull=False),
                name="modelversion_job_and_dataset_together",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model} v{self.number}"


class FileRole(models.TextChoices):
    CHECKPOINT = "checkpoint", "Checkpoint"
    METRICS = "metrics", "Metrics (JSON)"
    CONFIG = "config", "Config"


class ModelFile(models.Model):
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="files")
    role = models.CharField(max_length=10, choices=FileRole.choices)
    name = models.CharField(max_length=255)  # the file's path in the job's outputs (display)
    stored_name = models.CharField(max_length=300)  # relative to the version's folder in model storage
    sha256 = models.CharField(max_length=64)
    byte_size = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["version_id", "role"]
        constraints = [models.UniqueConstraint(fields=["version", "role"], name="modelfile_one_per_role")]

    def __str__(self) -> str:
        return f"{self.version} {self.role}: {self.name}"


class ModelAlias(models.Model):
    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=64)
    # PROTECT: a version an alias points at cannot be deleted (the service says so first, as a 409).
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="aliases")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model_id", "name"]
        constraints = [models.UniqueConstraint(fields=["model", "name"], name="modelalias_unique_name")]

    def __str__(self) -> str:
        return f"{self.model}@{self.name}"


class AliasMove(models.Model):
    """Append-only history of alias moves (the reports read it; nothing writes it twice). Version
    numbers, not foreign keys: the history outlives a deleted version."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="alias_moves")
    alias = models.CharField(max_length=64)
    from_number = models.PositiveIntegerField(null=True, blank=True)
    to_number = models.PositiveIntegerField()
    moved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    moved_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-moved_at", "-id"]

    def __str__(self) -> str:
        return f"{self.model}@{self.alias}: {self.from_number} → {self.to_number}"
