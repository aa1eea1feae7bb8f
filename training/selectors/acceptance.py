"""How annotators used a model version's suggestions (docs/models.md, "Acceptance"): read from
labeling's selectors with the version's own reference (training/refs.py)."""

from dataclasses import dataclass

from labeling.selectors.predictions import FocusedTime, OriginCounts, focused_time_split, prediction_origin_counts
from training.models import ModelVersion
from training.refs import model_version_ref


@dataclass
class Acceptance:
    counts: OriginCounts
    time_with: FocusedTime  # tasks on items this version pre-labelled
    time_without: FocusedTime  # tasks on items of the same datasets no model pre-labelled

    @property
    def kept(self) -> int:
        return self.counts.accepted + self.counts.edited

    @property
    def acceptance_rate(self) -> float | None:
        """Suggestions kept (as they were, or edited) out of those offered."""
        return self.kept / self.counts.predicted if self.counts.predicted else None

    @property
    def edit_rate(self) -> float | None:
        """Of the suggestions kept, those the annotator had to change."""
        return self.counts.edited / self.kept if self.kept else None


def model_version_acceptance(*, version: ModelVersion) -> Acceptance:
    ref = model_version_ref(version_id=version.pk)
    counts = prediction_origin_counts(model_refs=[ref])[ref]
    split = focused_time_split(model_refs=[ref])[ref]
    return Acceptance(counts=counts, time_with=split.with_predictions, time_without=split.without_predictions)
