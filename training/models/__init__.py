"""Training state. Import models from here: `from training.models import ModelVersion`."""

from training.models.pipelines import (
    RUN_FINISHED_STATES,
    STEP_FINISHED_STATES,
    Pipeline,
    PipelineRun,
    PipelineSpecVersion,
    RunState,
    StepRun,
    StepState,
)
from training.models.prelabel import PRELABEL_FINISHED_STATES, PrelabelRun, PrelabelState
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
    "PipelineRun",
    "PipelineSpecVersion",
    "RUN_FINISHED_STATES",
    "RunState",
    "STEP_FINISHED_STATES",
    "StepRun",
    "StepState",
    "PrelabelRun",
    "PrelabelState",
    "PRELABEL_FINISHED_STATES",
    "RegisteredModel",
    "StagingState",
]
