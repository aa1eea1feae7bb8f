"""A model's predicted shapes for one item: suggestions, never annotations (docs/annotation.md).

`run_ref` and `model_ref` are opaque references that training/ owns (labeling never imports it):
the run that predicted and the model version it ran. One row per (run, item), so a requeued job
or a second ingest of the same results never doubles a prediction.
"""

from django.db import models


class Prediction(models.Model):
    item = models.ForeignKey("labeling.Item", on_delete=models.CASCADE, related_name="predictions")
    run_ref = models.CharField(max_length=200)
    model_ref = models.CharField(max_length=200)
    # Checked against the dataset's label schema (labeling/documents.py); each carries its score.
    shapes = models.JSONField(default=list)
    # Kept on the row so acceptance figures never count inside the JSON (STYLE: no counts over JSON).
    shape_count = models.PositiveIntegerField(default=0)
    # What the check dropped (class -> count) and refused (messages), as the first ingest found it.
    summary = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run_ref", "item"], name="prediction_unique_per_run_item")]
        indexes = [
            models.Index(fields=["item", "-id"], name="prediction_item_recent"),
            models.Index(fields=["model_ref", "item"], name="prediction_model_item"),
        ]

    def __str__(self) -> str:
        return f"prediction of {self.model_ref} for item {self.item_id}"
