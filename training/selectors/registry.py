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


def alias_moves_between(
    *, team_ids: list[int] | None = None, actor_id: int | None = None, since=None, until=None
) -> QuerySet[AliasMove]:
    """The alias history across models, newest first (the audit log reads it: docs/reports.md). None
    for team_ids means every team."""
    moves = AliasMove.objects.select_related("model__team", "moved_by").order_by("-moved_at", "-id")
    if team_ids is not None:
        moves = moves.filter(model__team_id__in=team_ids)
    if actor_id is not None:
        moves = moves.filter(moved_by_id=actor_id)
    if since is not None:
        moves = moves.filter(moved_at__gte=since)
    if until is not None:
        moves = moves.filter(moved_at__lt=until)
    return moves
