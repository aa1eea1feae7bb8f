"""Rollups and retention on a generated hour of samples, checked against a brute-force oracle."""

import random
from datetime import timedelta

import pytest

from scheduler.models import GpuRollup, GpuSample
from scheduler.services.telemetry import SampleRow, rollups_update, samples_write, telemetry_prune

from .readings import T0, make_gpu

pytestmark = pytest.mark.django_db


@pytest.fixture
def hour_of_samples():
    """Two GPUs, one sample a second for an hour from T0 (on an hour boundary), some fields n/a."""
    rng = random.Random(4)
    gpus = [make_gpu(node_name="gpu-roll", index=i) for i in range(2)]
    rows = []
    for gpu in gpus:
        for second in range(3600):
            power = None if second % 17 == 0 else round(rng.uniform(50, 400), 1)
            util = None if second % 29 == 0 else rng.randint(0, 100)
            rows.append(
                SampleRow(
                    gpu.id, T0 + timedelta(seconds=second), util, 3, rng.randint(0, 80000), rng.randint(30, 80), power
                )
            )
    samples_write(rows=rows)
    return gpus, rows


def _oracle(rows, gpu_id, start, end):
    """Mean/max util, max memory, mean power, max temperature over [start, end), by hand."""
    inside = [r for r in rows if r.gpu_id == gpu_id and start <= r.at < end]
    utils = [r.util_gpu_pct for r in inside if r.util_gpu_pct is not None]
    powers = [r.power_w for r in inside if r.power_w is not None]
    return {
        "samples": len(inside),
        "util_mean": sum(utils) / len(utils),
        "util_max": max(utils),
        "memory_max_mb": max(r.memory_used_mb for r in inside),
        "power_mean": sum(powers) / len(powers),
        "temperature_max_c": max(r.temperature_c for r in inside),
    }


def _stored(gpu_id, width_s, start):
    row = GpuRollup.objects.get(gpu_id=gpu_id, width_s=width_s, start=start)
    return {
        k: getattr(row, k)
        for k in ("samples", "util_mean", "util_max", "memory_max_mb", "power_mean", "temperature_max_c")
    }


def test_minute_and_hour_rollups_match_the_oracle(hour_of_samples):
    gpus, rows = hour_of_samples
    rollups_update(since=T0, now=T0 + timedelta(hours=1, seconds=30))

    for gpu in gpus:
        assert GpuRollup.objects.filter(gpu=gpu, width_s=60).count() == 60
        for minute in (0, 7, 59):
            start = T0 + timedelta(minutes=minute)
            assert _stored(gpu.id, 60, start) == pytest.approx(
                _oracle(rows, gpu.id, start, start + timedelta(minutes=1))
            )
        assert _stored(gpu.id, 3600, T0) == pytest.approx(_oracle(rows, gpu.id, T0, T0 + timedelta(hours=1)))


def test_rolling_up_again_changes_nothing_and_late_samples_are_counted(hour_of_samples):
    gpus, rows = hour_of_samples
    now = T0 + timedelta(minutes=59, seconds=30)
    rollups_update(since=T0, now=now)
    before = GpuRollup.objects.count()
    rollups_update(since=T0, now=now)
    assert GpuRollup.objects.count() == before

    late = SampleRow(gpus[0].id, T0 + timedelta(minutes=59, seconds=59, microseconds=500000), 100, 0, 99999, 99, 1.0)
    samples_write(rows=[late])
    rollups_update(since=T0, now=T0 + timedelta(hours=1, minutes=1))
    assert _stored(gpus[0].id, 60, T0 + timedelta(minutes=59)) == pytest.approx(
        _oracle([*rows, late], gpus[0].id, T0 + timedelta(minutes=59), T0 + timedelta(hours=1))
    )
    assert GpuRollup.objects.get(gpu=gpus[0], width_s=3600, start=T0).memory_max_mb == 99999


def test_retention_drops_raw_after_48_hours_and_minutes_after_30_days(hour_of_samples, settings):
    gpus, _ = hour_of_samples
    (
        settings.TELEMETRY_RAW_RETENTION_HOURS,
        settings.TELEMETRY_MINUTE_RETENTION_HOURS,
        settings.TELEMETRY_HOUR_RETENTION_HOURS,
    ) = 48, 720, 0

    rollups_update(since=T0, now=T0 + timedelta(hours=2))
    telemetry_prune(now=T0 + timedelta(hours=48, minutes=30))  # the first half hour is past 48 h
    assert GpuSample.objects.filter(gpu__in=gpus).count() == 2 * 1800
    assert GpuRollup.objects.filter(gpu__in=gpus, width_s=60).count() == 120  # rolled up before the drop

    telemetry_prune(now=T0 + timedelta(days=30, hours=2))
    assert GpuSample.objects.filter(gpu__in=gpus).count() == 0
    assert GpuRollup.objects.filter(gpu__in=gpus, width_s=60).count() == 0
    assert GpuRollup.objects.filter(gpu__in=gpus, width_s=3600).count() == 2  # hours are kept


def test_retention_is_configurable(hour_of_samples, settings):
    gpus, _ = hour_of_samples
    settings.TELEMETRY_RAW_RETENTION_HOURS = 0.5
    telemetry_prune(now=T0 + timedelta(hours=1))
    assert GpuSample.objects.filter(gpu__in=gpus).count() == 2 * 1800
