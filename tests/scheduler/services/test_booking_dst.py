"""GPU-hours are counted on UTC instants: a 09:00 -> 09:00 local booking is 23 h across the spring
change and 25 h across the autumn one. Wall-clock input refuses DST gaps and needs a choice when
ambiguous. Berlin and New York, both changes."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from scheduler.selectors.quotas import team_usage
from scheduler.services.bookings import booking_create
from scheduler.wallclock import AMBIGUOUS, IN_DST_GAP, InstantError, wall_clock_parse
from tests.scheduler.factories import fleet, ids_request, quota_set

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
# The 2027 dates below are parsed (no clock involved) or booked as seen from this fixed instant, so they
# never "pass"; the year-ahead CI run checks that.
FIXED_NOW = datetime(2026, 11, 23, tzinfo=UTC)

CHANGES = [
    # zone, day before the change, hours from 09:00 to 09:00 the next day
    (BERLIN, "2027-03-27", 23),
    (BERLIN, "2027-10-30", 25),
    (NEW_YORK, "2027-03-13", 23),
    (NEW_YORK, "2027-11-06", 25),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("zone", "day", "hours"), CHANGES, ids=["berlin-spring", "berlin-autumn", "ny-spring", "ny-autumn"]
)
def test_a_local_day_across_a_dst_change_counts_its_real_hours(researcher, team_a, zone, day, hours):
    quota_set(team_a, booking_horizon_days=400)
    gpus = fleet(nodes=1, per_node=2)
    start = wall_clock_parse(f"{day}T09:00", zone=zone)
    next_day = datetime.fromisoformat(day).replace(day=int(day[-2:]) + 1).date().isoformat()
    end = wall_clock_parse(f"{next_day}T09:00", zone=zone)
    booking = booking_create(user=researcher, start=start, end=end, request=ids_request(gpus), now=FIXED_NOW)
    assert booking.end - booking.start == (end - start)
    month = datetime.fromisoformat(day).date().replace(day=1)
    assert team_usage(team_id=team_a.pk, month=month).reserved_hours == 2 * hours


@pytest.mark.parametrize(("zone", "raw"), [(BERLIN, "2027-03-28T02:30"), (NEW_YORK, "2027-03-14T02:30")])
def test_a_time_in_the_spring_gap_is_refused(zone, raw):
    with pytest.raises(InstantError) as excinfo:
        wall_clock_parse(raw, zone=zone)
    assert str(excinfo.value) == IN_DST_GAP.format(value=raw, zone=zone.key)


@pytest.mark.parametrize(
    ("zone", "raw", "earlier", "later"),
    [
        (BERLIN, "2027-10-31T02:30", "2027-10-31T00:30:00+00:00", "2027-10-31T01:30:00+00:00"),
        (NEW_YORK, "2027-11-07T01:30", "2027-11-07T05:30:00+00:00", "2027-11-07T06:30:00+00:00"),
    ],
)
def test_an_ambiguous_autumn_time_needs_a_choice(zone, raw, earlier, later):
    with pytest.raises(InstantError) as excinfo:
        wall_clock_parse(raw, zone=zone)
    assert str(excinfo.value) == AMBIGUOUS.format(value=raw, zone=zone.key)
    assert wall_clock_parse(raw, zone=zone, choice="earlier").isoformat() == earlier
    assert wall_clock_parse(raw, zone=zone, choice="later").isoformat() == later


def test_ordinary_wall_clock_times_convert_without_a_choice():
    assert wall_clock_parse("2027-01-15T09:00", zone=BERLIN).isoformat() == "2027-01-15T08:00:00+00:00"
    assert wall_clock_parse("2027-07-15T09:00", zone=NEW_YORK).isoformat() == "2027-07-15T13:00:00+00:00"
