"""Admin: the model registry is listed read-only.

Models, versions, their files and aliases change through training's services (register, move an
alias), which keep version numbers and the alias history (the audit trail) consistent; no service
edits a description or tags yet, so the admin does not either. Pipelines and their spec versions are
read-only too: the service validates a spec whole and numbers its versions.
"""

from django.contrib import admin

from portal.readonly_admin import ReadOnlyAdmin
from training.models import (
    AliasMove,
    InputStaging,
    ModelAlias,
    ModelFile,
    ModelVersion,
    Pipeline,
    PipelineRun,
    PipelineSpecVersion,
    PredictionRequest,
    PrelabelRun,
    RegisteredModel,
    StepRun,
)


@admin.register(RegisteredModel)
class RegisteredModelAdmin(ReadOnlyAdmin):
    list_display = ("name", "team", "last_version_number", "created_by", "created_at")
    list_filter = ("team", "created_at")
    search_fields = ("name", "description", "team__name")
    list_select_related = ("team", "created_by")
    date_hierarchy = "created_at"
    ordering = ("team__name", "name")


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ("model", "number", "format", "job", "dataset_version", "registered_by", "registered_at")
    list_filter = ("format", "model__team", "registered_at")
    search_fields = ("model__name", "registered_by__username")
    list_select_related = ("model", "job", "dataset_version__dataset", "registered_by")
    date_hierarchy = "registered_at"
    ordering = ("-registered_at",)


@admin.register(ModelFile)
class ModelFileAdmin(ReadOnlyAdmin):
    list_display = ("name", "version", "role", "byte_size", "sha256")
    list_filter = ("role",)
    search_fields = ("name", "sha256", "version__model__name")
    list_select_related = ("version__model",)
    ordering = ("-id",)


@admin.register(ModelAlias)
class ModelAliasAdmin(ReadOnlyAdmin):
    list_display = ("model", "name", "version", "updated_at")
    list_filter = ("name", "model__team")
    search_fields = ("name", "model__name")
    list_select_related = ("model", "version__model")
    ordering = ("model__name", "name")


@admin.register(AliasMove)
class AliasMoveAdmin(ReadOnlyAdmin):
    list_display = ("model", "alias", "from_number", "to_number", "moved_by", "moved_at")
    list_filter = ("alias", "model__team", "moved_at")
    search_fields = ("model__name", "alias", "moved_by__username")
    list_select_related = ("model", "moved_by")
    date_hierarchy = "moved_at"
    ordering = ("-moved_at",)


@admin.register(InputStaging)
class InputStagingAdmin(ReadOnlyAdmin):
    """A staging moves by its task and beat's sweep (training/services/staging.py), never by hand."""

    list_display = ("pk", "team", "requested_by", "dataset_version", "state", "job", "model_version", "created_at")
    list_filter = ("state", "team", "created_at")
    search_fields = ("requested_by__username", "register_as", "error")
    list_select_related = ("team", "requested_by", "dataset_version__dataset", "job", "model_version__model")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)


@admin.register(PredictionRequest)
class PredictionRequestAdmin(ReadOnlyAdmin):
    """A predict request is written by the endpoint and finished by the inference worker
    (training/services/serving.py), never by hand."""

    list_display = ("pk", "team", "requested_by", "model_version", "state", "inference_ms", "created_at")
    list_filter = ("state", "team", "created_at")
    search_fields = ("requested_by__username", "error")
    list_select_related = ("team", "requested_by", "model_version__model")


@admin.register(Pipeline)
class PipelineAdmin(ReadOnlyAdmin):
    list_display = ("name", "team", "owner", "last_version_number", "created_at")
    list_filter = ("team", "created_at")
    search_fields = ("name", "team__name", "owner__username")
    list_select_related = ("team", "owner")
    date_hierarchy = "created_at"
    ordering = ("team__name", "name")


@admin.register(PipelineSpecVersion)
class PipelineSpecVersionAdmin(ReadOnlyAdmin):
    list_display = ("pipeline", "number", "content_hash", "created_by", "created_at")
    list_filter = ("pipeline__team", "created_at")
    search_fields = ("pipeline__name", "content_hash")
    list_select_related = ("pipeline", "created_by")


@admin.register(PipelineRun)
class PipelineRunAdmin(ReadOnlyAdmin):
    """A run moves by the advance loop (training/services/pipeline_runs.py)."""

    list_display = ("pk", "pipeline", "spec_version", "state", "trigger", "started_by", "created_at", "finished_at")
    list_filter = ("state", "trigger", "pipeline__team", "created_at")
    search_fields = ("pipeline__name", "started_by__username", "error")
    list_select_related = ("pipeline", "spec_version__pipeline", "started_by")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)


@admin.register(StepRun)
class StepRunAdmin(ReadOnlyAdmin):
    list_display = ("pk", "run", "name", "type", "state", "tries", "job", "cache_hit_of", "finished_at")
    list_filter = ("state", "type", "run__pipeline__team")
    search_fields = ("name", "run__pipeline__name", "cache_key", "error")
    list_select_related = ("run__pipeline", "job", "cache_hit_of__run__pipeline")
    ordering = ("-id",)


@admin.register(PrelabelRun)
class PrelabelRunAdmin(ReadOnlyAdmin):
    """A pre-label run moves by its job and beat's ingest sweep (training/services/prelabel.py)."""

    list_display = ("pk", "team", "model_version", "dataset", "state", "items_ingested", "items_total", "job")
    list_filter = ("state", "team", "created_at")
    search_fields = ("requested_by__username", "error")
    list_select_related = ("team", "model_version__model", "dataset", "job")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
