"""Training state. Import models from here: `from training.models import ModelVersion`."""

from training.models.pipelines import Pipeline, PipelineSpecVersion
from training.models.prelabel import PrelabelRun, PrelabelState
from training.models.registry import (
    AliasMove,
    CheckpointFormat,
    FileRole,
    ModelAlias,
    ModelFile,
    ModelVersion,
    RegisteredModel,
)
from training.models.serving import PredictionRequest, PredictionState
from training.models.staging import InputStaging, StagingState

__all__ = [
    "AliasMove",
    "CheckpointFormat",
    "FileRole",
    "InputStaging",
    "ModelAlias",
    "ModelFile",
    "ModelVersion",
    "PredictionRequest",
    "PredictionState",
    "Pipeline",
    "PipelineSpecVersion",
    "PrelabelRun",
    "PrelabelState",
    "RegisteredModel",
    "StagingState",
]
