"""Reading predictions: an item's suggestions, and how people used them per model version.

training/ computes acceptance rate (accepted / predicted) and edit rate (edited / predicted) per
model version from `prediction_origin_counts`; the model_ref it passes back is its own opaque string.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import QuerySet

from labeling.documents import ORIGIN_ACCEPTED, ORIGIN_EDITED, ORIGIN_MANUAL, origin_kind, prediction_id_of
from labeling.models import Annotation, Prediction


def predictions_for_item(*, item) -> QuerySet[Prediction]:
    """The item's predictions, newest first (the workspace shows them as suggestions)."""
    return Prediction.objects.filter(item=item).order_by("-id")


@dataclass
class OriginCounts:
    """Shapes in the latest documents of items a model version predicted, by where they came from."""

    documents: int = 0  # saved documents of those items (each annotator's document counts once)
    predicted: int = 0  # shapes the model offered, once per such document
    accepted: int = 0  # kept as predicted
    edited: int = 0  # kept, then changed
    manual: int = 0  # drawn by hand beside the suggestions (what the model missed)


def prediction_origin_counts(*, model_refs: list[str], dataset_id: int | None = None) -> dict[str, OriginCounts]:
    """Per model_ref: shapes of the current (latest saved) documents of the items it predicted,
    counted by origin, and the shapes it predicted there.

    "Predicted" counts the latest prediction of that model_ref per item, once for every saved
    document of the item (overlap k shows the suggestions to k people). An accepted or edited shape
    counts for the model_ref of the prediction its origin names; a manual shape counts for every
    model_ref that predicted its item. Unsaved documents (version 0) count nowhere."""
    predictions = Prediction.objects.filter(model_ref__in=model_refs)
    if dataset_id is not None:
        predictions = predictions.filter(item__dataset_id=dataset_id)
    model_of: dict[int, str] = {}
    offered: dict[int, dict[str, int]] = defaultdict(dict)  # item -> model_ref -> shapes of its latest prediction
    for prediction_id, item_id, model_ref, shape_count in predictions.order_by("id").values_list(
        "id", "item_id", "model_ref", "shape_count"
    ):
        model_of[prediction_id] = model_ref
        offered[item_id][model_ref] = shape_count
    counts = {model_ref: OriginCounts() for model_ref in model_refs}
    documents = Annotation.objects.filter(task__item_id__in=list(offered), version__gt=0).values_list(
        "task__item_id", "shapes"
    )
    for item_id, shapes in documents.iterator(chunk_size=500):
        for model_ref, shape_count in offered[item_id].items():
            counts[model_ref].documents += 1
            counts[model_ref].predicted += shape_count
        for shape in shapes:
            _count_shape(shape, counts=counts, model_of=model_of, models_here=offered[item_id])
    return counts


def _count_shape(shape: dict, *, counts: dict[str, OriginCounts], model_of: dict[int, str], models_here) -> None:
    kind = origin_kind(shape)
    if kind == ORIGIN_MANUAL:
        for model_ref in models_here:
            counts[model_ref].manual += 1
        return
    model_ref = model_of.get(prediction_id_of(shape["origin"].get("prediction")))
    if model_ref is None:  # a prediction of another model version, or of another dataset
        return
    if kind == ORIGIN_ACCEPTED:
        counts[model_ref].accepted += 1
    elif kind == ORIGIN_EDITED:
        counts[model_ref].edited += 1
