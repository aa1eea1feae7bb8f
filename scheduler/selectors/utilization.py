"""What the idle-booking check needs from telemetry, and nothing more: for each GPU, over a window,
how well the raw samples cover it and the highest utilization seen (scheduler.models.GpuSample,
written by the GPU agent)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Min

from scheduler.models.telemetry import GpuSample


@dataclass(frozen=True)
class Coverage:
    first: datetime | None
    last: datetime | None
    peak_pct: float | None


def utilization_over(*, gpu_ids, start: datetime, end: datetime) -> dict[int, Coverage]:
    """Per GPU: first and last sample with a utilization reading in [start, end], and the peak."""
    rows = (
        GpuSample.objects.filter(gpu_id__in=gpu_ids, at__gte=start, at__lte=end, util_gpu_pct__isnull=False)
        .values("gpu_id")
        .annotate(first=Min("at"), last=Max("at"), peak=Max("util_gpu_pct"))
    )
    found = {row["gpu_id"]: Coverage(row["first"], row["last"], row["peak"]) for row in rows}
    return {gpu_id: found.get(gpu_id, Coverage(None, None, None)) for gpu_id in gpu_ids}
