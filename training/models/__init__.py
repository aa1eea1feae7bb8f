"""Training state. Import models from here: `from training.models import ModelVersion`."""

from training.models.registry import (
    AliasMove,
    CheckpointFormat,
    FileRole,
    ModelAlias,
    ModelFile,
    ModelVersion,
    RegisteredModel,
)

__all__ = [
    "AliasMove",
    "CheckpointFormat",
    "FileRole",
    "ModelAlias",
    "ModelFile",
    "ModelVersion",
    "RegisteredModel",
]
