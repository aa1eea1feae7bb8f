"""Reading predictions: an item's suggestions, and how people used them per model version.

training/ computes acceptance rate ((accepted + edited) / predicted) and edit rate
(edited / (accepted + edited)) per model version from `prediction_origin_counts`, and compares the time
items took with and without suggestions from `focused_time_split`; the model_ref it passes back is its
own opaque string.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, QuerySet, Sum

from labeling.documents import ORIGIN_ACCEPTED, ORIGIN_EDITED, ORIGIN_MANUAL, origin_kind, prediction_id_of
from labeling.models import Annotation, Prediction, Task


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


@dataclass
class FocusedTime:
    """Labelled tasks (one item, one annotator) and the focused seconds they took in all."""

    tasks: int = 0
    seconds: int = 0

    @property
    def mean_seconds(self) -> float | None:
        return self.seconds / self.tasks if self.tasks else None


@dataclass
class FocusedTimeSplit:
    with_predictions: FocusedTime
    without_predictions: FocusedTime


def focused_time_split(*, model_refs: list[str]) -> dict[str, FocusedTimeSplit]:
    """Per model_ref: the workspace's focused time (Task.focused_seconds) of the tasks on items it
    predicted, against the tasks on items of the same datasets that no model predicted.

    Only tasks labelled in the workspace count: a saved document (version above 0) and some focused
    time (an imported document took nobody's time here, and would pull the mean towards zero)."""
    labelled = Task.objects.filter(annotation__version__gt=0, focused_seconds__gt=0)
    result = {}
    for model_ref in model_refs:
        predicted = Prediction.objects.filter(model_ref=model_ref)
        with_predictions = labelled.filter(item__in=predicted.values("item_id"))
        without_predictions = labelled.filter(dataset__in=predicted.values("item__dataset_id")).exclude(
            Exists(Prediction.objects.filter(item_id=OuterRef("item_id")))
        )
        result[model_ref] = FocusedTimeSplit(
            with_predictions=_focused(with_predictions), without_predictions=_focused(without_predictions)
        )
    return result


def _focused(tasks: QuerySet[Task]) -> FocusedTime:
    totals = tasks.aggregate(tasks=Count("pk"), seconds=Sum("focused_seconds"))
    return FocusedTime(tasks=totals["tasks"], seconds=totals["seconds"] or 0)
