"""Reads of served predictions: per model version, what /metrics reports (docs/models.md "Serving").
Computed from the prediction requests themselves, which the inference worker (another process) finishes:
nothing is counted twice and a restarted web answers the same."""

import math
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from training.models import PredictionRequest, PredictionState


@dataclass(frozen=True)
class ServedVersionStats:
    team: str
    model: str
    version: int
    requests: int
    errors: int
    # Over the requests finished since the window began, in milliseconds; None with none finished.
    inference_p50: float | None
    inference_p95: float | None
    latency_p50: float | None
    latency_p95: float | None


def served_version_stats(*, since: datetime) -> list[ServedVersionStats]:
    counted = (
        PredictionRequest.objects.values(
            "model_version_id", "model_version__number", "model_version__model__name", "team__name"
        )
        .annotate(requests=Count("id"), errors=Count("id", filter=Q(state=PredictionState.FAILED)))
        .order_by("team__name", "model_version__model__name", "model_version__number")
    )
    recent: dict[int, list[tuple[float, float]]] = {}
    finished = PredictionRequest.objects.filter(state=PredictionState.SUCCEEDED, finished_at__gte=since)
    for version_id, inference_ms, created, ended in finished.values_list(
        "model_version_id", "inference_ms", "created_at", "finished_at"
    ):
        recent.setdefault(version_id, []).append((inference_ms or 0.0, (ended - created).total_seconds() * 1000))
    stats = []
    for row in counted:
        timings = recent.get(row["model_version_id"], [])
        inference = sorted(t[0] for t in timings)
        latency = sorted(t[1] for t in timings)
        stats.append(
            ServedVersionStats(
                team=row["team__name"],
                model=row["model_version__model__name"],
                version=row["model_version__number"],
                requests=row["requests"],
                errors=row["errors"],
                inference_p50=quantile(inference, 0.5),
                inference_p95=quantile(inference, 0.95),
                latency_p50=quantile(latency, 0.5),
                latency_p95=quantile(latency, 0.95),
            )
        )
    return stats


def quantile(values: list[float], q: float) -> float | None:
    """Nearest-rank quantile of sorted values (what the numbers were, never an interpolation)."""
    if not values:
        return None
    return values[max(0, math.ceil(q * len(values)) - 1)]
