"""The labeling app's models: datasets and their images (datasets.py), annotation (annotation.py),
export jobs (exports.py), model predictions (predictions.py)."""

from labeling.models.annotation import (  # noqa: F401
    EDITABLE_STATUSES,
    Annotation,
    AnnotationRevision,
    ItemClass,
    Review,
    ReviewDecision,
    Task,
    TaskStatus,
)
from labeling.models.datasets import (  # noqa: F401
    IMPORT_FINISHED_STATES,
    Character,
    Dataset,
    DatasetVersion,
    FileOutcome,
    ImportFile,
    ImportJob,
    ImportKind,
    ImportSource,
    ImportState,
    Item,
    ItemKind,
    ItemStatus,
    Series,
    Slice,
    SliceSource,
    Split,
    VersionItem,
    default_label_schema,
)
from labeling.models.exports import EXPORT_FINISHED_STATES, ExportFormat, ExportJob, ExportState  # noqa: F401
from labeling.models.predictions import Prediction  # noqa: F401
