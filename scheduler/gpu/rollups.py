"""Aggregate GPU samples into fixed buckets and pick the resolution for a chart's range.

Pure functions over plain data; the telemetry service feeds them rows and stores the result.
Buckets are aligned to the Unix epoch in UTC (a 1-minute bucket starts at :00 seconds, a
1-hour bucket at :00:00), half-open ``[start, start + width)``.

Each rollup keeps how many values its means were taken over, so 1-minute rollups can be
combined into 1-hour ones (``rollup_rollups``) with exactly the result of rolling the raw
samples up directly; a field that was ``None`` ("n/a") in a sample does not count.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)

# Chart ranges up to RAW_MAX_SPAN read raw samples (1 h at 1 Hz: 3,600 points), up to
# MINUTE_MAX_SPAN 1-minute rollups (24 h: 1,440 points; 2 days: 2,880), beyond that 1-hour
# rollups (7 d: 168; 30 d: 720). So a chart never needs more than ~11k points per series.
RAW_MAX_SPAN = timedelta(hours=3)
MINUTE_MAX_SPAN = timedelta(days=2)
# Defaults of the retention settings; a range reaching older than these coarsens.
RAW_RETENTION = timedelta(hours=48)
MINUTE_RETENTION = timedelta(days=30)

NAIVE_DATETIME = "rollups need timezone-aware datetimes, got naive {value!r}"
BAD_WIDTH = "bucket width must be a positive whole number of seconds, got {value!r}"
INCOMPATIBLE_WIDTH = "cannot roll {finer} buckets into {width} buckets: not a multiple"
BAD_RANGE = "range end {end!r} is not after its start {start!r}"


class Resolution(enum.Enum):
    RAW = "raw"
    MINUTE = "1m"
    HOUR = "1h"

    @property
    def width(self) -> timedelta | None:
        return {Resolution.RAW: None, Resolution.MINUTE: MINUTE, Resolution.HOUR: HOUR}[self]


@dataclass(frozen=True, slots=True)
class Sample:
    gpu: Hashable
    at: datetime
    util_gpu_pct: float | None = None
    memory_used_mb: int | None = None
    power_w: float | None = None
    temperature_c: float | None = None


@dataclass(frozen=True, slots=True)
class Rollup:
    gpu: Hashable
    start: datetime
    width: timedelta
    samples: int
    util_count: int
    util_mean: float | None
    util_max: float | None
    memory_max_mb: int | None
    power_count: int
    power_mean: float | None
    temperature_max_c: float | None


@dataclass(slots=True)
class _Accumulator:
    samples: int = 0
    util_count: int = 0
    util_sum: float = 0.0
    util_max: float | None = None
    memory_max: int | None = None
    power_count: int = 0
    power_sum: float = 0.0
    temperature_max: float | None = None


def bucket_start(at: datetime, *, width: timedelta) -> datetime:
    """Start of the epoch-aligned bucket holding ``at``, in UTC."""
    seconds = _width_seconds(width)
    epoch = int(_aware(at).timestamp() // 1)
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def rollup_samples(*, samples: Iterable[Sample], width: timedelta) -> list[Rollup]:
    """Raw samples into one rollup per (GPU, bucket), ordered by bucket start."""
    buckets: dict[tuple[Hashable, datetime], _Accumulator] = {}
    for sample in samples:
        key = (sample.gpu, bucket_start(sample.at, width=width))
        _add_sample(buckets.setdefault(key, _Accumulator()), sample)
    return _finish(buckets, width=width)


def rollup_rollups(*, rollups: Iterable[Rollup], width: timedelta) -> list[Rollup]:
    """Finer rollups (e.g. 1-minute) into coarser ones; ``width`` must be a multiple of theirs."""
    buckets: dict[tuple[Hashable, datetime], _Accumulator] = {}
    for rollup in rollups:
        if _width_seconds(width) % _width_seconds(rollup.width):
            raise ValueError(INCOMPATIBLE_WIDTH.format(finer=rollup.width, width=width))
        key = (rollup.gpu, bucket_start(rollup.start, width=width))
        _add_rollup(buckets.setdefault(key, _Accumulator()), rollup)
    return _finish(buckets, width=width)


def resolution_for_range(
    *,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    step: timedelta | None = None,
    raw_retention: timedelta = RAW_RETENTION,
    minute_retention: timedelta = MINUTE_RETENTION,
) -> Resolution:
    """The coarsest stored resolution that still draws ``[start, end)`` well.

    By span: raw up to RAW_MAX_SPAN, 1-minute up to MINUTE_MAX_SPAN, else 1-hour. A requested
    ``step`` of at least a minute (or an hour) allows that resolution even on short spans.
    With ``now`` given, a range that starts before a resolution's retention uses a coarser one,
    because the finer rows no longer exist there.
    """
    start, end = _aware(start), _aware(end)
    if end <= start:
        raise ValueError(BAD_RANGE.format(start=start, end=end))
    chosen = _by_span(end - start)
    if step is not None:
        chosen = max(chosen, _by_step(step), key=_ORDER.index)
    if now is not None:
        chosen = max(chosen, _by_age(_aware(now) - start, raw_retention, minute_retention), key=_ORDER.index)
    return chosen


_ORDER = [Resolution.RAW, Resolution.MINUTE, Resolution.HOUR]


def _by_span(span: timedelta) -> Resolution:
    if span <= RAW_MAX_SPAN:
        return Resolution.RAW
    if span <= MINUTE_MAX_SPAN:
        return Resolution.MINUTE
    return Resolution.HOUR


def _by_step(step: timedelta) -> Resolution:
    if step >= HOUR:
        return Resolution.HOUR
    if step >= MINUTE:
        return Resolution.MINUTE
    return Resolution.RAW


def _by_age(age: timedelta, raw_retention: timedelta, minute_retention: timedelta) -> Resolution:
    if age <= raw_retention:
        return Resolution.RAW
    if age <= minute_retention:
        return Resolution.MINUTE
    return Resolution.HOUR


def _add_sample(acc: _Accumulator, sample: Sample) -> None:
    acc.samples += 1
    if sample.util_gpu_pct is not None:
        acc.util_count += 1
        acc.util_sum += sample.util_gpu_pct
        acc.util_max = _max(acc.util_max, sample.util_gpu_pct)
    acc.memory_max = _max(acc.memory_max, sample.memory_used_mb)
    if sample.power_w is not None:
        acc.power_count += 1
        acc.power_sum += sample.power_w
    acc.temperature_max = _max(acc.temperature_max, sample.temperature_c)


def _add_rollup(acc: _Accumulator, rollup: Rollup) -> None:
    acc.samples += rollup.samples
    if rollup.util_mean is not None:
        acc.util_count += rollup.util_count
        acc.util_sum += rollup.util_mean * rollup.util_count  # back to a sum: means weight by count
    acc.util_max = _max(acc.util_max, rollup.util_max)
    acc.memory_max = _max(acc.memory_max, rollup.memory_max_mb)
    if rollup.power_mean is not None:
        acc.power_count += rollup.power_count
        acc.power_sum += rollup.power_mean * rollup.power_count
    acc.temperature_max = _max(acc.temperature_max, rollup.temperature_max_c)


def _finish(buckets: dict[tuple[Hashable, datetime], _Accumulator], *, width: timedelta) -> list[Rollup]:
    return [
        Rollup(
            gpu=gpu,
            start=start,
            width=width,
            samples=acc.samples,
            util_count=acc.util_count,
            util_mean=acc.util_sum / acc.util_count if acc.util_count else None,
            util_max=acc.util_max,
            memory_max_mb=acc.memory_max,
            power_count=acc.power_count,
            power_mean=acc.power_sum / acc.power_count if acc.power_count else None,
            temperature_max_c=acc.temperature_max,
        )
        for (gpu, start), acc in sorted(buckets.items(), key=lambda item: item[0][1])
    ]


def _max(current: Any, value: Any) -> Any:
    if value is None:
        return current
    return value if current is None or value > current else current


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(NAIVE_DATETIME.format(value=value))
    return value


def _width_seconds(width: timedelta) -> int:
    seconds = width.total_seconds()
    if seconds <= 0 or seconds != int(seconds):
        raise ValueError(BAD_WIDTH.format(value=width))
    return int(seconds)


__all__ = [
    "HOUR",
    "MINUTE",
    "MINUTE_MAX_SPAN",
    "RAW_MAX_SPAN",
    "Resolution",
    "Rollup",
    "Sample",
    "bucket_start",
    "resolution_for_range",
    "rollup_rollups",
    "rollup_samples",
]
