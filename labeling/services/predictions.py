"""Recording a model's predictions for an item (docs/annotation.md, "Predictions and origins").

training/ ingests a pre-label run's results item by item through `predictions_record`; the
references it passes are its own (labeling never reads them). Recording is idempotent per
(run, item): a requeued job or a second ingest of the same file finds the row the first one wrote
and changes nothing, so no item ever holds a run's prediction twice.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from labeling.documents import DocumentInvalid, ItemFrame, predicted_shapes_check
from labeling.models import Character, Item, Prediction
from labeling.schema import normalized_schema

MAX_REF = 200
REF_INVALID = "{name} must be 1 to {max} characters."


@dataclass
class PredictionRecorded:
    prediction: Prediction
    created: bool  # False: this run had already recorded this item; the row is as it was

    @property
    def dropped(self) -> dict[str, int]:
        """Shapes dropped per class (outside the schema or the run's classes)."""
        return self.prediction.summary.get("dropped", {})

    @property
    def refused(self) -> list[str]:
        """One message per shape refused (bad geometry, score or attributes)."""
        return self.prediction.summary.get("refused", [])


def predictions_record(
    *, item: Item, run_ref: str, model_ref: str, shapes: list, classes: list[str] | None = None
) -> PredictionRecorded:
    """Store the run's shapes for the item: kept, dropped (counted per class) or refused (named)
    shape by shape, in one row written whole. A second call for the same run and item returns the
    row already there, unchanged. Raises ValidationError when the references or the list itself
    cannot be used; then nothing is written."""
    _check_ref("run_ref", run_ref)
    _check_ref("model_ref", model_ref)
    existing = Prediction.objects.filter(run_ref=run_ref, item=item).first()
    if existing is not None:
        return PredictionRecorded(prediction=existing, created=False)
    checked = _checked(item=item, shapes=shapes, classes=classes)
    summary = {"kept": len(checked.shapes), "dropped": checked.dropped, "refused": checked.refused}
    if checked.clipped:
        summary["clipped"] = checked.clipped
    try:
        with transaction.atomic():  # a savepoint: a lost race leaves the caller's transaction usable
            prediction = Prediction.objects.create(
                item=item,
                run_ref=run_ref,
                model_ref=model_ref,
                shapes=checked.shapes,
                shape_count=len(checked.shapes),
                summary=summary,
            )
    except IntegrityError:
        # Another delivery of the same run recorded this item between the read and the insert.
        return PredictionRecorded(prediction=Prediction.objects.get(run_ref=run_ref, item=item), created=False)
    return PredictionRecorded(prediction=prediction, created=True)


def _check_ref(name: str, value) -> None:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_REF:
        raise ValidationError({name: [REF_INVALID.format(name=name, max=MAX_REF)]})


def _checked(*, item: Item, shapes, classes):
    dataset = item.dataset
    character_ids = (
        set(Character.objects.filter(series_id=dataset.series_id).values_list("pk", flat=True))
        if dataset.series_id
        else None
    )
    try:
        return predicted_shapes_check(
            shapes,
            schema=normalized_schema(dataset.label_schema),
            frame=ItemFrame(width=item.width, height=item.height),
            character_ids=character_ids,
            classes=set(classes) if classes is not None else None,
        )
    except DocumentInvalid as invalid:
        raise ValidationError(invalid.errors) from None
