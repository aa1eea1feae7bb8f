"""Reads of GPU telemetry: a chart's series at the resolution its range calls for."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from scheduler.gpu.rollups import Resolution, resolution_for_range
from scheduler.models import Gpu, GpuRollup, GpuSample, ProcessSnapshot

# Chart presets of the GPU page: label -> span.
CHART_RANGES = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}


@dataclass(frozen=True)
class Series:
    """Columnar, as uPlot wants it: `t` in Unix seconds, one list per metric, None for n/a."""

    resolution: str
    t: list[float]
    util: list[float | None]
    util_max: list[float | None]
    memory_mb: list[int | None]
    temperature_c: list[float | None]
    power_w: list[float | None]


def gpu_series(
    *, gpu: Gpu, start: datetime, end: datetime, step: timedelta | None = None, now: datetime | None = None
) -> Series:
    resolution = resolution_for_range(
        start=start,
        end=end,
        step=step,
        now=now or timezone.now(),
        raw_retention=_hours(settings.TELEMETRY_RAW_RETENTION_HOURS),
        minute_retention=_hours(settings.TELEMETRY_MINUTE_RETENTION_HOURS),
    )
    if resolution is Resolution.RAW:
        return _raw_series(gpu=gpu, start=start, end=end)
    return _rollup_series(gpu=gpu, start=start, end=end, resolution=resolution)


def _hours(hours: float) -> timedelta:
    return timedelta(hours=hours) if hours > 0 else timedelta.max


def _raw_series(*, gpu: Gpu, start: datetime, end: datetime) -> Series:
    rows = (
        GpuSample.objects.filter(gpu=gpu, at__gte=start, at__lt=end)
        .order_by("at")
        .values_list("at", "util_gpu_pct", "memory_used_mb", "temperature_c", "power_w")
    )
    t, util, memory, temperature, power = [], [], [], [], []
    for at, u, m, temp, p in rows.iterator(chunk_size=5000):
        t.append(at.timestamp())
        util.append(u)
        memory.append(m)
        temperature.append(temp)
        power.append(p)
    return Series(Resolution.RAW.value, t, util, list(util), memory, temperature, power)


def _rollup_series(*, gpu: Gpu, start: datetime, end: datetime, resolution: Resolution) -> Series:
    width_s = int(resolution.width.total_seconds())
    rows = GpuRollup.objects.filter(
        gpu=gpu, width_s=width_s, start__gte=start - resolution.width, start__lt=end
    ).order_by("start")
    rows = list(rows.values_list("start", "util_mean", "util_max", "memory_max_mb", "temperature_max_c", "power_mean"))
    return Series(
        resolution.value,
        [row[0].timestamp() for row in rows],
        [_round(row[1]) for row in rows],
        [row[2] for row in rows],
        [row[3] for row in rows],
        [row[4] for row in rows],
        [_round(row[5]) for row in rows],
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def gpu_recent_processes(*, gpu: Gpu, limit: int = 50) -> list[ProcessSnapshot]:
    return list(ProcessSnapshot.objects.filter(gpu=gpu).order_by("-at")[:limit])
