"""Reads of the model registry: a model's versions, aliases and alias history."""

from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet

from training.models import AliasMove, ModelAlias, ModelVersion, RegisteredModel


def model_storage_root() -> Path:
    return Path(settings.MEDIA_ROOT) / settings.MODEL_STORAGE_DIR


def version_folder(*, version: ModelVersion) -> Path:
    return model_storage_root() / str(version.model_id) / str(version.number)


def versions_of_model(*, model: RegisteredModel) -> QuerySet[ModelVersion]:
    return (
        model.versions.select_related("dataset_version__dataset", "job__owner", "registered_by")
        .prefetch_related("files", "aliases")
        .order_by("-number")
    )


def aliases_of_model(*, model: RegisteredModel) -> QuerySet[ModelAlias]:
    return model.aliases.select_related("version").order_by("name")


def alias_history(*, model: RegisteredModel) -> QuerySet[AliasMove]:
    return model.alias_moves.select_related("moved_by")
