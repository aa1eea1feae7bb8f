"""The one grammar for a duration a person types: a job's time limit, from the submit form, the API
or the CLI (which sends the text as typed). Pure Python: no Django (docs/jobs.md "Durations").

    4h   90m   1h30m   1.5h   2d 4h   45s   3 days   1 hour 30 minutes   units, summed
    PT4H   P1DT2H   PT1.5H   P2W                                        ISO 8601 (no months or years)
    4:00:00   1 04:00:00   1 day, 4:00:00   90:00                       clock: [days] [H:]M:S
    3600                                                                a bare number is seconds

Every form but the units one is what the API read before this grammar existed (Django's
parse_duration), so what clients sent then still means the same.
"""

import re
from datetime import timedelta

EXAMPLES = "4h, 90m, 1h30m, 2d, PT4H or 4:00:00"
EMPTY = f"Give a duration, e.g. {EXAMPLES}."
NOT_A_DURATION = "“{text}” is not a duration: write e.g. " + EXAMPLES + "."
NEGATIVE = "“{text}” is negative: a duration is 0 or more."
NO_FIXED_LENGTH = "“{text}”: months and years have no fixed length; give weeks, days or hours (e.g. P30D, 720h)."
TOO_LONG = "“{text}” is longer than a century, the longest duration there is here."

MAX_LENGTH = 100  # longer input is a paste gone wrong, not a duration
# A century: past it no instant the portal accepts (years 2000–2100, portal/inputs.py) plus the duration
# stays a date Python and the database can hold.
MAX_SECONDS = 100 * 366 * 86400
_NUMBER = r"\d+(?:[.,]\d+)?"  # ISO 8601 allows a decimal comma
_UNIT_SECONDS = {
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), 7 * 86400),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
}
_UNIT_PART = re.compile(rf"({_NUMBER})\s*([a-z]+)\s*,?\s*", re.IGNORECASE)
_ISO = re.compile(
    rf"P(?:(?P<weeks>{_NUMBER})W)?(?:(?P<days>{_NUMBER})D)?"
    rf"(?:T(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?(?:(?P<seconds>{_NUMBER})S)?)?",
    re.IGNORECASE,
)
_ISO_CALENDAR = re.compile(r"P[^T]*[YM]", re.IGNORECASE)  # years or months before any T
_CLOCK = re.compile(
    rf"(?:(?P<days>\d+)(?:\s*days?,?)?\s+)?(?:(?P<hours>\d+):)?(?P<minutes>\d+):(?P<seconds>{_NUMBER})",
    re.IGNORECASE,
)
_SECONDS = re.compile(_NUMBER)
_FACTORS = {"weeks": 7 * 86400, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


class DurationError(ValueError):
    """Text that is not a duration; the message says what to write instead."""


def parse_duration(text: str) -> timedelta:
    """The duration `text` names, or DurationError with a message a person can act on."""
    text = text.strip()
    shown = text if len(text) <= 40 else text[:40] + "…"
    if not text:
        raise DurationError(EMPTY)
    if text.startswith("-"):
        raise DurationError(NEGATIVE.format(text=shown))
    seconds = _seconds(text.removeprefix("+")) if len(text) <= MAX_LENGTH else None
    if seconds is None:
        raise DurationError(_why_not(text).format(text=shown))
    if seconds > MAX_SECONDS:
        raise DurationError(TOO_LONG.format(text=shown))
    return timedelta(seconds=seconds)


def _seconds(text: str) -> float | None:
    if text.upper().startswith("P"):
        return _from_groups(_ISO.fullmatch(text))
    if ":" in text:
        return _from_groups(_CLOCK.fullmatch(text))
    if _SECONDS.fullmatch(text):
        return _number(text)
    return _from_units(text)


def _from_groups(match: re.Match | None) -> float | None:
    if match is None:
        return None
    parts = {name: value for name, value in match.groupdict().items() if value is not None}
    return sum(_number(value) * _FACTORS[name] for name, value in parts.items()) if parts else None


def _from_units(text: str) -> float | None:
    if not text:
        return None
    total, position = 0.0, 0
    while position < len(text):
        part = _UNIT_PART.match(text, position)
        if part is None or part.group(2).lower() not in _UNIT_SECONDS:
            return None
        total += _number(part.group(1)) * _UNIT_SECONDS[part.group(2).lower()]
        position = part.end()
    return total


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def _why_not(text: str) -> str:
    return NO_FIXED_LENGTH if _ISO_CALENDAR.match(text.removeprefix("+")) else NOT_A_DURATION


_SPELLED = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_IN_WORDS = {"d": " d", "h": " h", "m": " min", "s": " s"}


def format_duration(seconds: float, *, words: bool = False) -> str:
    """A duration as a person writes it in this grammar ("1h 30m", "2d 4h", "45s"), to the second;
    parse_duration reads it back.

    `words=True` is how a sentence says it ("20 min", "2 h 5 min", "45 s"): to the minute once it
    is a minute or more (a notification's "idle for 2 h 5 min 3 s" is noise); parse_duration reads
    that back too.
    """
    left = round(max(0.0, seconds))
    if words and left >= 60:
        left = round(left / 60) * 60
    parts = []
    for unit, size in _SPELLED:
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{_IN_WORDS[unit] if words else unit}")
    return " ".join(parts) or ("0 s" if words else "0s")
