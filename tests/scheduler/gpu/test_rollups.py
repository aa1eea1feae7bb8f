"""Rollups checked against a brute-force computation over a generated hour of samples."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.gpu.rollups import (
    HOUR,
    MINUTE,
    Resolution,
    Sample,
    bucket_start,
    resolution_for_range,
    rollup_rollups,
    rollup_samples,
)

# Deliberately not aligned: the hour of samples spans 61 minute buckets and 2 hour buckets.
FIRST = datetime(2026, 11, 23, 10, 0, 30, 250_000, tzinfo=UTC)
SILENT_FROM = datetime(2026, 11, 23, 10, 20, tzinfo=UTC)


def generated_hour() -> list[Sample]:
    """Three GPUs at 1 Hz with jitter; GPU "b" has no power sensor; GPU "c" is lost for 5 min
    and silent for 2 more."""
    rng = random.Random(4)
    samples = []
    for second in range(3600):
        at = FIRST + timedelta(seconds=second, milliseconds=rng.randint(-300, 300))
        for gpu in ("a", "b", "c"):
            if gpu == "c" and SILENT_FROM <= at < SILENT_FROM + 2 * MINUTE:
                continue  # the agent was down: no rows at all
            lost = gpu == "c" and 600 <= second < 900
            samples.append(
                Sample(
                    gpu=gpu,
                    at=at,
                    util_gpu_pct=None if lost else rng.randint(0, 100),
                    memory_used_mb=None if lost else rng.randint(0, 81920),
                    power_w=None if lost or gpu == "b" else round(rng.uniform(50, 400), 1),
                    temperature_c=None if lost else rng.randint(30, 85),
                )
            )
    return samples


def brute_force(samples: list[Sample], *, width: timedelta) -> dict[tuple[str, datetime], tuple]:
    """Each bucket by scanning every sample: no epoch arithmetic shared with the code under test."""
    origin = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # an hour before the first sample
    expected = {}
    for gpu in ("a", "b", "c"):
        mine = [s for s in samples if s.gpu == gpu]
        for k in range(int(timedelta(hours=4) / width)):
            start = origin + k * width
            inside = [s for s in mine if start <= s.at < start + width]
            if inside:
                expected[(gpu, start)] = summary(inside)
    return expected


def summary(inside: list[Sample]) -> tuple:
    utils = [s.util_gpu_pct for s in inside if s.util_gpu_pct is not None]
    memories = [s.memory_used_mb for s in inside if s.memory_used_mb is not None]
    powers = [s.power_w for s in inside if s.power_w is not None]
    temperatures = [s.temperature_c for s in inside if s.temperature_c is not None]
    return (
        len(inside),
        statistics.fmean(utils) if utils else None,
        max(utils, default=None),
        max(memories, default=None),
        statistics.fmean(powers) if powers else None,
        max(temperatures, default=None),
    )


def as_table(rollups) -> dict[tuple[str, datetime], tuple]:
    return {
        (r.gpu, r.start): (r.samples, r.util_mean, r.util_max, r.memory_max_mb, r.power_mean, r.temperature_max_c)
        for r in rollups
    }


def assert_tables_match(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for key, row in expected.items():
        got = actual[key]
        assert [value is None for value in got] == [value is None for value in row], key
        assert [v for v in got if v is not None] == pytest.approx([v for v in row if v is not None], rel=1e-12), key


def test_minute_rollups_match_brute_force_over_an_hour() -> None:
    samples = generated_hour()

    minutes = rollup_samples(samples=samples, width=MINUTE)

    expected = brute_force(samples, width=MINUTE)
    assert len(expected) == 3 * 61 - 2  # GPU "c" is silent for two whole minutes
    assert_tables_match(as_table(minutes), expected)


def test_lost_minutes_keep_their_sample_count_but_no_values() -> None:
    minutes = as_table(rollup_samples(samples=generated_hour(), width=MINUTE))

    lost_minute = minutes[("c", datetime(2026, 11, 23, 10, 12, tzinfo=UTC))]
    assert lost_minute[0] == 60 and lost_minute[1:] == (None, None, None, None, None)
    assert all(row[4] is None for (gpu, _), row in minutes.items() if gpu == "b")


def test_hour_rollups_from_samples_and_from_minutes_agree_with_brute_force() -> None:
    samples = generated_hour()
    expected = brute_force(samples, width=HOUR)

    direct = rollup_samples(samples=samples, width=HOUR)
    from_minutes = rollup_rollups(rollups=rollup_samples(samples=samples, width=MINUTE), width=HOUR)

    assert (
        sorted(start for _, start in expected)
        == [FIRST.replace(minute=0, second=0, microsecond=0)] * 3
        + [FIRST.replace(hour=11, minute=0, second=0, microsecond=0)] * 3
    )
    assert_tables_match(as_table(direct), expected)
    assert_tables_match(as_table(from_minutes), expected)
    assert [r.util_count for r in from_minutes] == [r.util_count for r in direct]


@given(
    offsets=st.lists(st.integers(min_value=0, max_value=3 * 3600 - 1), min_size=1, max_size=200),
    utils=st.lists(st.one_of(st.none(), st.integers(0, 100)), min_size=200, max_size=200),
)
def test_rolling_minutes_into_hours_equals_rolling_samples_into_hours(offsets: list[int], utils: list) -> None:
    samples = [
        Sample(gpu="g", at=FIRST + timedelta(seconds=offset), util_gpu_pct=util, power_w=util, memory_used_mb=util)
        for offset, util in zip(offsets, utils)
    ]

    via_minutes = rollup_rollups(rollups=rollup_samples(samples=samples, width=MINUTE), width=HOUR)

    assert_tables_match(as_table(via_minutes), as_table(rollup_samples(samples=samples, width=HOUR)))


def test_buckets_are_aligned_to_utc_whatever_the_offset_of_the_timestamp() -> None:
    india = timezone(timedelta(hours=5, minutes=30))

    start = bucket_start(datetime(2026, 11, 23, 10, 59, 59, 900_000, tzinfo=india), width=HOUR)

    assert start == datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="rollups need timezone-aware datetimes"):
        rollup_samples(samples=[Sample(gpu="g", at=datetime(2026, 1, 1))], width=MINUTE)


def test_coarse_rollups_cannot_be_split_into_finer_buckets() -> None:
    hours = rollup_samples(samples=[Sample(gpu="g", at=FIRST, util_gpu_pct=5)], width=HOUR)

    with pytest.raises(ValueError, match="cannot roll 1:00:00 buckets into 0:01:00 buckets"):
        rollup_rollups(rollups=hours, width=MINUTE)


@pytest.mark.parametrize(
    ("span", "resolution"),
    [
        (timedelta(minutes=10), Resolution.RAW),
        (timedelta(hours=1), Resolution.RAW),
        (timedelta(hours=3), Resolution.RAW),
        (timedelta(hours=3, seconds=1), Resolution.MINUTE),
        (timedelta(hours=24), Resolution.MINUTE),
        (timedelta(days=2), Resolution.MINUTE),
        (timedelta(days=2, seconds=1), Resolution.HOUR),
        (timedelta(days=7), Resolution.HOUR),
        (timedelta(days=30), Resolution.HOUR),
    ],
)
def test_the_resolution_follows_the_span(span: timedelta, resolution: Resolution) -> None:
    assert resolution_for_range(start=FIRST, end=FIRST + span) is resolution


def test_a_step_coarsens_the_resolution_but_never_refines_it() -> None:
    hour = {"start": FIRST, "end": FIRST + HOUR}

    assert resolution_for_range(**hour, step=timedelta(seconds=15)) is Resolution.RAW
    assert resolution_for_range(**hour, step=timedelta(minutes=5)) is Resolution.MINUTE
    assert resolution_for_range(**hour, step=timedelta(hours=2)) is Resolution.HOUR
    assert resolution_for_range(start=FIRST, end=FIRST + timedelta(days=7), step=MINUTE) is Resolution.HOUR


def test_ranges_older_than_a_retention_use_what_still_exists() -> None:
    now = FIRST + timedelta(days=40)

    assert resolution_for_range(start=now - HOUR, end=now, now=now) is Resolution.RAW
    assert resolution_for_range(start=now - timedelta(days=3), end=now - timedelta(days=3) + HOUR, now=now) is (
        Resolution.MINUTE
    )
    assert resolution_for_range(start=FIRST, end=FIRST + HOUR, now=now) is Resolution.HOUR


def test_an_empty_or_reversed_range_is_refused() -> None:
    with pytest.raises(ValueError, match="is not after its start"):
        resolution_for_range(start=FIRST, end=FIRST)
