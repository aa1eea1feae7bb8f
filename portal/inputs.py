"""The one parsing layer for what a request carries, query parameters included (docs/security.md "Input").

Plain functions, no DRF: the API (portal/api/fields.py, portal/api/parsers.py) and the pages call the
same ones. Each raises InputError with a message a person can act on; the caller names the parameter.

- instants: ISO 8601 with an offset, years INSTANT_YEARS (the database and date arithmetic hold them with
  room to spare: a year 1 or 9999 has no month before or after it);
- months: YYYY-MM within the same years;
- integers: whole numbers a PostgreSQL bigint (C long) holds, within the caller's bounds;
- text: no NUL byte (PostgreSQL refuses to store or compare one);
- JSON: nested at most MAX_JSON_DEPTH levels (deeper is an attack, not a document).
Durations have their own grammar (scheduler/durations.py).
"""

import json
from datetime import UTC, date, datetime

INSTANT_YEARS = (2000, 2100)
BIGINT_MAX = 2**63 - 1
MAX_JSON_DEPTH = 64

NOT_AN_INSTANT = "Not an ISO 8601 date and time, e.g. 2026-11-24T09:00:00+01:00."
NAIVE_INSTANT = "Give an offset (ISO 8601, e.g. 2026-11-24T09:00:00+01:00): a time without one is ambiguous."
OUT_OF_RANGE_YEAR = f"Give a year from {INSTANT_YEARS[0]} to {INSTANT_YEARS[1]}."
NOT_A_MONTH = "Give a month as YYYY-MM, e.g. 2026-11."
NOT_A_WHOLE_NUMBER = "Give a whole number."
TOO_SMALL = "Give a number of at least {minimum}."
TOO_BIG = "Give a number of at most {maximum}."
NUL_BYTE = "Contains a NUL byte (\\0), which no text here may hold."
TOO_DEEP = f"JSON nested deeper than {MAX_JSON_DEPTH} levels."


class InputError(ValueError):
    """Bad input; the message says what to send instead."""


def instant_from(raw: str, *, naive_ok: bool = False) -> datetime:
    """An ISO 8601 date and time within INSTANT_YEARS; in UTC when it has an offset."""
    try:
        value = datetime.fromisoformat(text_from(raw).strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(NOT_AN_INSTANT) from None
    year_check(value.year)
    if value.tzinfo is None:
        if naive_ok:
            return value
        raise InputError(NAIVE_INSTANT)
    return value.astimezone(UTC)


def month_from(raw: str) -> date:
    """'2026-11' -> date(2026, 11, 1)."""
    try:
        year, month = (int(part) for part in text_from(raw).split("-"))
        value = date(year, month, 1)
    except ValueError:
        raise InputError(NOT_A_MONTH) from None
    year_check(value.year)
    return value


def year_check(year: int) -> None:
    if not INSTANT_YEARS[0] <= year <= INSTANT_YEARS[1]:
        raise InputError(OUT_OF_RANGE_YEAR)


def is_id_text(text: str) -> bool:
    """Text that is an id: ASCII digits only, short enough for a bigint. `str.isdigit()` alone also
    takes "²", which `int()` refuses (a 500 wherever that reached it)."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def integer_from(raw, *, minimum: int = -BIGINT_MAX, maximum: int = BIGINT_MAX) -> int:
    """A whole number from text or an int (never a bool), within [minimum, maximum] and a bigint."""
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise InputError(NOT_A_WHOLE_NUMBER)
    text = str(raw).strip()
    digits = text.lstrip("+-")
    is_number = digits.isascii() and digits.isdigit()
    if not is_number or len(text) > 20:  # 20 characters hold every bigint
        raise InputError(NOT_A_WHOLE_NUMBER if not is_number else _too(text, minimum, maximum))
    value = int(text)
    if value < max(minimum, -BIGINT_MAX):
        raise InputError(TOO_SMALL.format(minimum=max(minimum, -BIGINT_MAX)))
    if value > min(maximum, BIGINT_MAX):
        raise InputError(TOO_BIG.format(maximum=min(maximum, BIGINT_MAX)))
    return value


def _too(text: str, minimum: int, maximum: int) -> str:
    if text.startswith("-"):
        return TOO_SMALL.format(minimum=max(minimum, -BIGINT_MAX))
    return TOO_BIG.format(maximum=min(maximum, BIGINT_MAX))


def text_from(raw) -> str:
    text = str(raw)
    if "\x00" in text:
        raise InputError(NUL_BYTE)
    return text


def json_from(raw: bytes | str):
    """Parsed JSON nested at most MAX_JSON_DEPTH levels; ValueError for what is not JSON."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise InputError(TOO_DEEP) from None
    depth_check(value)
    return value


def depth_check(value) -> None:
    """InputError when lists and objects nest deeper than MAX_JSON_DEPTH (checked without recursion)."""
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > MAX_JSON_DEPTH:
            raise InputError(TOO_DEEP)
        pending.extend((child, depth + 1) for child in children)
