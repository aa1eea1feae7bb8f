"""The duration grammar people type (scheduler/durations.py, docs/jobs.md "Durations")."""

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils.dateparse import parse_duration as django_parse_duration
from hypothesis import given
from hypothesis import strategies as st

from scheduler.durations import (
    EMPTY,
    NEGATIVE,
    NO_FIXED_LENGTH,
    NOT_A_DURATION,
    TOO_LONG,
    DurationError,
    format_duration,
    parse_duration,
)

ROOT = Path(__file__).resolve().parents[2]
H, M, S, D = timedelta(hours=1), timedelta(minutes=1), timedelta(seconds=1), timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4h", 4 * H),
        ("90m", 90 * M),
        ("45s", 45 * S),
        ("2d", 2 * D),
        ("1w", 7 * D),
        ("1h30m", 90 * M),
        ("1.5h", 90 * M),
        ("2d 4h", 2 * D + 4 * H),
        ("4H", 4 * H),
        ("4 h", 4 * H),
        ("1 hour 30 minutes", 90 * M),
        ("90min", 90 * M),
        ("3 days", 3 * D),
        ("  4h  ", 4 * H),
        ("PT4H", 4 * H),
        ("pt4h", 4 * H),
        ("P1DT2H", D + 2 * H),
        ("PT1.5H", 90 * M),
        ("PT0,5H", 30 * M),
        ("P2W", 14 * D),
        ("PT90M", 90 * M),
        ("4:00:00", 4 * H),
        ("90:00", 90 * M),
        ("1 04:00:00", D + 4 * H),
        ("1 day, 4:00:00", D + 4 * H),
        ("3 days 04:05:06", 3 * D + 4 * H + 5 * M + 6 * S),
        ("4:00:00.25", 4 * H + timedelta(milliseconds=250)),
        ("3600", H),
        ("3600.5", H + timedelta(milliseconds=500)),
        ("0", timedelta(0)),
    ],
)
def test_it_reads_each_form(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", EMPTY),
        ("   ", EMPTY),
        ("soon", NOT_A_DURATION.format(text="soon")),
        ("4h 30", NOT_A_DURATION.format(text="4h 30")),
        ("4 parsecs", NOT_A_DURATION.format(text="4 parsecs")),
        ("h", NOT_A_DURATION.format(text="h")),
        ("P", NOT_A_DURATION.format(text="P")),
        ("PT", NOT_A_DURATION.format(text="PT")),
        ("1e5", NOT_A_DURATION.format(text="1e5")),
        ("4::00", NOT_A_DURATION.format(text="4::00")),
        ("-PT1H", NEGATIVE.format(text="-PT1H")),
        ("-1 04:00:00", NEGATIVE.format(text="-1 04:00:00")),
        ("P1M", NO_FIXED_LENGTH.format(text="P1M")),
        ("P1Y2M", NO_FIXED_LENGTH.format(text="P1Y2M")),
        ("99999999999d", TOO_LONG.format(text="99999999999d")),
        ("9" * 120 + "h", NOT_A_DURATION.format(text="9" * 40 + "…")),
    ],
)
def test_it_refuses_what_is_not_a_duration_saying_what_to_write(text, message):
    with pytest.raises(DurationError) as refused:
        parse_duration(text)
    assert str(refused.value) == message


def test_pt1m_is_a_minute_not_a_month():
    assert parse_duration("PT1M") == M


@pytest.mark.parametrize(
    "text",
    [
        "3600",
        "3600.5",
        "90:00",
        "4:00:00",
        "4:00:00,5",
        "1 04:00:00",
        "1 day, 4:00:00",
        "3 days, 4:00:00",
        "3 days 04:05:06",
        "3 days",
        "1 day",
        "PT4H",
        "P1DT2H",
        "PT1.5H",
        "P2D",
        "P1DT",
        "+PT1H",
    ],
)
def test_what_the_api_read_before_still_means_the_same(text):
    """Django's parse_duration was the API's reader: the oracle for every form it accepted."""
    assert parse_duration(text) == django_parse_duration(text)


@given(st.integers(min_value=0, max_value=10**9))
def test_the_apis_own_output_reads_back(seconds):
    assert parse_duration(f"PT{seconds}S") == timedelta(seconds=seconds)


@given(st.integers(min_value=0, max_value=999), st.integers(min_value=0, max_value=999))
def test_units_add_up(hours, minutes):
    assert parse_duration(f"{hours}h{minutes}m") == timedelta(hours=hours, minutes=minutes)


def test_the_grammar_imports_no_django():
    """Pure Python (docs/jobs.md "Durations"): a fresh interpreter loads it without Django."""
    code = "import sys, scheduler.durations; print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (1800, "30m"), (5400, "1h 30m"), (93784, "1d 2h 3m 4s"), (7 * 86400, "7d"), (59.6, "1m")],
)
def test_durations_are_written_as_people_write_them(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (45, "45 s"), (60, "1 min"), (1200, "20 min"), (7500, "2 h 5 min"), (7529, "2 h 5 min")]
    + [(7531, "2 h 6 min"), (7200, "2 h"), (93784, "1 d 2 h 3 min"), (59.6, "1 min")],
)
def test_durations_in_words_say_it_as_a_sentence_does(seconds, text):
    assert format_duration(seconds, words=True) == text


@given(st.integers(min_value=0, max_value=10**9))
def test_a_written_duration_reads_back_the_same(seconds):
    assert parse_duration(format_duration(seconds)) == timedelta(seconds=seconds)
