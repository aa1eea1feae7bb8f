"""Storing GPU telemetry: batched raw samples, 1-minute and 1-hour rollups, retention.

The rollup arithmetic is scheduler.gpu.rollups (pure); this module feeds it rows and stores the
result. Rolling up is idempotent: a bucket is recomputed from its source rows and replaces what was
there, so a late batch of samples or a beat task delivered twice changes nothing wrong.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from scheduler.gpu.rollups import HOUR, MINUTE, Rollup, Sample, bucket_start, rollup_rollups, rollup_samples
from scheduler.models import GpuRollup, GpuSample, ProcessSnapshot, RollupWidth
from scheduler.services.batch_writes import rows_append

# Rolling up works through at most this much time per transaction, so one call never holds the
# SQLite write lock for long nor loads more than an hour of samples into memory.
ROLLUP_CHUNK = timedelta(hours=1)
# Each run recomputes this far behind the newest rollup, so samples written late (the agent's batch,
# an agent catching up after a database hiccup) are still counted.
ROLLUP_LOOKBACK = timedelta(minutes=5)
SAMPLE_COLUMNS = ("gpu_id", "at", "util_gpu_pct", "util_memory_pct", "memory_used_mb", "temperature_c", "power_w")


@dataclass(frozen=True, slots=True)
class SampleRow:
    gpu_id: int
    at: datetime
    util_gpu_pct: int | None
    util_memory_pct: int | None
    memory_used_mb: int | None
    temperature_c: int | None
    power_w: float | None


def samples_write(*, rows: Sequence[SampleRow]) -> int:
    """Insert a batch of raw samples at once (COPY on PostgreSQL).

    Not bulk_create: the agent writes a row per GPU per second, and building a model instance per
    row costs more CPU than the insert itself (docs/benchmarks.md).
    """
    if not rows:
        return 0
    at_field = GpuSample._meta.get_field("at")
    params = [
        (
            r.gpu_id,
            at_field.get_db_prep_value(r.at, connection),
            r.util_gpu_pct,
            r.util_memory_pct,
            r.memory_used_mb,
            r.temperature_c,
            r.power_w,
        )
        for r in rows
    ]
    with transaction.atomic():
        rows_append(table=GpuSample._meta.db_table, columns=SAMPLE_COLUMNS, rows=params)
    return len(rows)


def rollups_update(*, now: datetime | None = None, since: datetime | None = None) -> dict[str, int]:
    """Roll raw samples into minutes and minutes into hours, up to now (the current bucket included,
    recomputed on the next call). `since` recomputes from that instant (a backfill); by default the
    work starts a little before the newest rollup (ROLLUP_LOOKBACK)."""
    now = now or timezone.now()
    minutes = _roll(width=MINUTE, source_start=_first_sample_at, now=now, since=since, build=_minute_rollups)
    hours = _roll(width=HOUR, source_start=_first_minute_at, now=now, since=since, build=_hour_rollups)
    return {"minute": minutes, "hour": hours}


def _roll(*, width: timedelta, source_start, now: datetime, since: datetime | None, build) -> int:
    width_s = int(width.total_seconds())
    last = GpuRollup.objects.filter(width_s=width_s).aggregate(last=Max("start"))["last"]
    start = since or (last - ROLLUP_LOOKBACK if last is not None else source_start())
    if start is None:
        return 0
    start = bucket_start(start, width=width)
    written = 0
    while start <= now:
        end = min(start + max(ROLLUP_CHUNK, width), now + width)
        written += _replace_rollups(width_s=width_s, start=start, end=end, rollups=build(start=start, end=end))
        start = end
    return written


@transaction.atomic
def _replace_rollups(*, width_s: int, start: datetime, end: datetime, rollups: Iterable[Rollup]) -> int:
    GpuRollup.objects.filter(width_s=width_s, start__gte=start, start__lt=end).delete()
    rows = [_rollup_row(rollup, width_s=width_s) for rollup in rollups]
    GpuRollup.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _rollup_row(rollup: Rollup, *, width_s: int) -> GpuRollup:
    return GpuRollup(
        gpu_id=rollup.gpu,
        width_s=width_s,
        start=rollup.start,
        samples=rollup.samples,
        util_count=rollup.util_count,
        util_mean=rollup.util_mean,
        util_max=rollup.util_max,
        memory_max_mb=rollup.memory_max_mb,
        power_count=rollup.power_count,
        power_mean=rollup.power_mean,
        temperature_max_c=rollup.temperature_max_c,
    )


def _first_sample_at() -> datetime | None:
    return GpuSample.objects.aggregate(first=Min("at"))["first"]


def _first_minute_at() -> datetime | None:
    return GpuRollup.objects.filter(width_s=RollupWidth.MINUTE).aggregate(first=Min("start"))["first"]


def _minute_rollups(*, start: datetime, end: datetime) -> list[Rollup]:
    rows = GpuSample.objects.filter(at__gte=start, at__lt=end).values_list(
        "gpu_id", "at", "util_gpu_pct", "memory_used_mb", "power_w", "temperature_c"
    )
    samples = (
        Sample(gpu, at, util, memory, power, temperature)
        for gpu, at, util, memory, power, temperature in rows.iterator(chunk_size=20000)
    )
    return rollup_samples(samples=samples, width=MINUTE)


def _hour_rollups(*, start: datetime, end: datetime) -> list[Rollup]:
    rows = GpuRollup.objects.filter(width_s=RollupWidth.MINUTE, start__gte=start, start__lt=end)
    minutes = (
        Rollup(
            gpu=row.gpu_id,
            start=row.start,
            width=MINUTE,
            samples=row.samples,
            util_count=row.util_count,
            util_mean=row.util_mean,
            util_max=row.util_max,
            memory_max_mb=row.memory_max_mb,
            power_count=row.power_count,
            power_mean=row.power_mean,
            temperature_max_c=row.temperature_max_c,
        )
        for row in rows.iterator(chunk_size=20000)
    )
    return rollup_rollups(rollups=minutes, width=HOUR)


def telemetry_prune(*, now: datetime | None = None) -> dict[str, int]:
    """Drop rows past their retention (settings TELEMETRY_*_RETENTION_HOURS; 0 keeps forever).

    Rolls up first, so no raw sample is dropped before its minute has been computed (beat rolls up
    every minute; this covers a beat that was down).
    """
    now = now or timezone.now()
    rollups_update(now=now)
    return {
        "raw": _prune(GpuSample.objects.all(), "at", hours=settings.TELEMETRY_RAW_RETENTION_HOURS, now=now),
        "processes": _prune(
            ProcessSnapshot.objects.all(), "at", hours=settings.TELEMETRY_MINUTE_RETENTION_HOURS, now=now
        ),
        "minute": _prune(
            GpuRollup.objects.filter(width_s=RollupWidth.MINUTE),
            "start",
            hours=settings.TELEMETRY_MINUTE_RETENTION_HOURS,
            now=now,
        ),
        "hour": _prune(
            GpuRollup.objects.filter(width_s=RollupWidth.HOUR),
            "start",
            hours=settings.TELEMETRY_HOUR_RETENTION_HOURS,
            now=now,
        ),
    }


def _prune(queryset, field: str, *, hours: float, now: datetime) -> int:
    if hours <= 0:
        return 0
    deleted, _ = queryset.filter(**{f"{field}__lt": now - timedelta(hours=hours)}).delete()
    return deleted
