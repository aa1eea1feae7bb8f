"""The step types a spec may name: their parameters, the artifacts they take and the ones they make.

A table, not classes: the validator reads it, the advance loop (training/services/pipelines.py) maps
each name to the service that runs it. Artifact kinds are what flows between steps, by reference:

    dataset_version   a frozen version of a dataset (labeling)
    export            an export file of a version (labeling), with its sha256
    checkpoint        a model file a job wrote under ATELIER_OUTPUT_DIR (the job and the path)
    model_version     a registered model version (training's registry)
    metrics           a JSON object of numbers a job wrote
    file              any file a `job` step declared among its outputs, with its sha256
"""

from dataclasses import dataclass, field

KINDS = ("dataset_version", "export", "checkpoint", "model_version", "metrics", "file")
ANY_KIND = "any"

# The formats labeling exports (labeling/formats/options.py FORMATS; a test keeps the two equal: this
# module may not import labeling).
EXPORT_FORMATS = ("coco", "yolo", "voc", "label_studio")
CHECKPOINT_FORMATS = ("torch_state_dict", "torchscript")


@dataclass(frozen=True)
class Param:
    """A step parameter: the value types it accepts (int, float, str, bool, list, dict)."""

    types: tuple[str, ...]
    required: bool = False
    choices: tuple = ()


@dataclass(frozen=True)
class Input:
    kinds: tuple[str, ...]
    required: bool = True


@dataclass(frozen=True)
class StepType:
    name: str
    description: str
    params: dict[str, Param] = field(default_factory=dict)
    inputs: dict[str, Input] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    runs_job: bool = False  # takes resources (GPUs, time limit, environment)
    open_inputs: bool = False  # any input names, of any kind (a `job` reads them as ATELIER_INPUT_<NAME>)
    declared_outputs: bool = False  # its outputs are the files the step declares (`outputs: {name: path}`)


_COMMAND = Param(("str",), required=True)
_CODE = Param(("list",))  # paths of the code files whose sha256 joins the cache key
_ENV = Param(("dict",))

STEP_TYPES: dict[str, StepType] = {
    step.name: step
    for step in (
        StepType(
            "dataset.version",
            "An existing version of a dataset, resolved when the step runs ('latest' or a number).",
            params={"dataset": Param(("int",), required=True), "version": Param(("int", "str"))},
            outputs={"version": "dataset_version"},
        ),
        StepType(
            "dataset.freeze",
            "Freeze the dataset's working state into a new version (or reuse the latest if nothing changed).",
            params={"dataset": Param(("int",), required=True), "note": Param(("str",))},
            outputs={"version": "dataset_version"},
        ),
        StepType(
            "dataset.export",
            "Export a dataset version to a file in one of labeling's formats.",
            params={"format": Param(("str",), required=True, choices=EXPORT_FORMATS), "options": Param(("dict",))},
            inputs={"version": Input(("dataset_version",))},
            outputs={"export": "export"},
        ),
        StepType(
            "job",
            "Any command, as a scheduler job; the files it declares among its outputs become artifacts.",
            params={"command": _COMMAND, "code": _CODE, "env": _ENV},
            runs_job=True,
            open_inputs=True,
            declared_outputs=True,
        ),
        StepType(
            "train",
            "A job that trains on a dataset version or its export, unpacked as ATELIER_INPUT_DATA, and writes a checkpoint.",
            params={
                "command": _COMMAND,
                "code": _CODE,
                "env": _ENV,
                "checkpoint": Param(("str",)),  # its path under ATELIER_OUTPUT_DIR, default model.pt
                "export_format": Param(("str",), choices=EXPORT_FORMATS),
                "export_options": Param(("dict",)),
            },
            inputs={"dataset": Input(("dataset_version", "export"))},
            outputs={"checkpoint": "checkpoint"},
            runs_job=True,
        ),
        StepType(
            "evaluate",
            "A job that evaluates a checkpoint and writes a metrics JSON object.",
            params={"command": _COMMAND, "code": _CODE, "env": _ENV, "metrics": Param(("str",))},
            inputs={
                "checkpoint": Input(("checkpoint",)),
                "dataset": Input(("dataset_version", "export"), required=False),
            },
            outputs={"metrics": "metrics"},
            runs_job=True,
        ),
        StepType(
            "model.register",
            "Register the checkpoint as a new version of a model, if its metrics pass the gate.",
            params={
                "model": Param(("str",), required=True),
                "format": Param(("str",), choices=CHECKPOINT_FORMATS),
                "gate": Param(("str",)),
                "tags": Param(("list",)),
            },
            inputs={"checkpoint": Input(("checkpoint",)), "metrics": Input(("metrics",), required=False)},
            outputs={"version": "model_version"},
        ),
        StepType(
            "alias.move",
            "Point an alias of the version's model (e.g. production) at the version.",
            params={"alias": Param(("str",), required=True)},
            inputs={"version": Input(("model_version",))},
        ),
        StepType(
            "prelabel",
            "Pre-label a dataset version's dataset with a model version, as a pre-label run (a job).",
            params={"threshold": Param(("float", "int")), "classes": Param(("list",))},
            inputs={"model": Input(("model_version",)), "dataset": Input(("dataset_version",))},
            runs_job=True,
        ),
    )
}
