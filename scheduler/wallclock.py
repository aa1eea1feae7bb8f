"""Instants and wall-clock times (docs/decisions.md §3). Pure functions, no Django.

The API takes instants as ISO 8601 with an offset (portal/inputs.py). The booking form and the CLI give wall-clock
times, read in the person's zone: a time the clocks skip (a DST gap) is refused, and a time that
happens twice (the hour after DST ends) needs the caller to choose the earlier or the later one.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from portal.inputs import InputError, instant_from

WALL_CLOCK_HAS_OFFSET = "A wall-clock time has no offset: it is read in your time zone."
IN_DST_GAP = "{value} does not exist in {zone}: the clocks skip it when daylight saving time starts."
AMBIGUOUS = "{value} happens twice in {zone} when daylight saving time ends: choose 'earlier' or 'later'."
FOLDS = {"earlier": 0, "later": 1}


class InstantError(InputError):
    """Bad time input; the message is one of the constants above (or portal.inputs'), ready for the user."""


def wall_clock_parse(raw: str, *, zone: ZoneInfo, choice: str | None = None) -> datetime:
    """A wall-clock time (no offset) in `zone`, as a UTC instant."""
    value = _parse(raw, naive_ok=True)
    if value.tzinfo is not None:
        raise InstantError(WALL_CLOCK_HAS_OFFSET)
    return wall_clock_to_utc(value, zone=zone, choice=choice)


def wall_clock_to_utc(value: datetime, *, zone: ZoneInfo, choice: str | None = None) -> datetime:
    earlier = value.replace(tzinfo=zone, fold=0).astimezone(UTC)
    later = value.replace(tzinfo=zone, fold=1).astimezone(UTC)
    # A skipped time does not survive the round trip back to the zone's wall clock.
    if earlier.astimezone(zone).replace(tzinfo=None) != value:
        raise InstantError(IN_DST_GAP.format(value=value.isoformat(timespec="minutes"), zone=zone.key))
    if earlier == later:
        return earlier
    if choice not in FOLDS:
        raise InstantError(AMBIGUOUS.format(value=value.isoformat(timespec="minutes"), zone=zone.key))
    return later if FOLDS[choice] else earlier


def _parse(raw: str, *, naive_ok: bool) -> datetime:
    try:
        return instant_from(raw, naive_ok=naive_ok)
    except InputError as exc:
        raise InstantError(str(exc)) from None
