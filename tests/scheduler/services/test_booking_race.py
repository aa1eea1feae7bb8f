"""The race: 100 simultaneous attempts at one slot through the service layer create exactly one
booking; the other 99 are clean conflicts (no 5xx-worthy error, no "database is locked")."""

from datetime import timedelta

import pytest

from portal.errors import Conflict
from scheduler.models import Booking, GpuOccupancy
from scheduler.services.bookings import booking_create
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.scheduler.factories import fleet, hours_from_now, ids_request
from tests.scheduler.race import race


@pytest.fixture
def racers(transactional_db):
    """100 researchers in 4 teams: same-team racers meet the quota lock, cross-team ones the
    database's no-overlap guard."""
    teams = [TeamFactory(name=f"Racers {t}") for t in range(4)]
    users = [UserFactory(username=f"racer{i}") for i in range(100)]
    for i, user in enumerate(users):
        MembershipFactory(team=teams[i % 4], user=user, is_researcher=True)
    return users


def test_one_of_a_hundred_simultaneous_bookings_wins(racers):
    gpus = fleet(nodes=1, per_node=2)
    start, end = hours_from_now(2), hours_from_now(4)

    def attempt(i):
        try:
            booking_create(user=racers[i], start=start, end=end, request=ids_request(gpus[:1]))
            return "created"
        except Conflict:
            return "conflict"

    outcomes = race(attempt)
    assert outcomes == {"created": 1, "conflict": 99}
    assert Booking.objects.count() == 1
    assert list(GpuOccupancy.objects.values_list("gpu_id", "start", "end")) == [(gpus[0].pk, start, end)]


def test_a_hundred_overlapping_windows_leave_no_gpu_double_booked(racers):
    """Staggered windows: many may succeed, but the stored rows never overlap on a GPU."""
    gpus = fleet(nodes=1, per_node=2)
    base = hours_from_now(2)

    def attempt(i):
        start = base + timedelta(minutes=17 * i)
        try:
            booking_create(user=racers[i], start=start, end=start + timedelta(hours=1), request=ids_request(gpus))
            return "created"
        except Conflict:
            return "conflict"

    outcomes = race(attempt)
    assert set(outcomes) <= {"created", "conflict"}, outcomes
    rows = sorted(GpuOccupancy.objects.values_list("gpu_id", "start", "end"))
    for (g1, _, e1), (g2, s2, _) in zip(rows, rows[1:]):
        assert g1 != g2 or e1 <= s2
    assert outcomes["created"] == len(rows) // 2 == Booking.objects.count()


def test_a_hundred_requests_for_three_gpus_each_leave_no_gpu_double_booked(racers):
    """N GPUs by count in one booking (the service picks them): 8 GPUs hold two bookings of 3."""
    from scheduler.selectors.placement import GpuRequest

    # Its own model: in a run with the stack, the agent registers the simulated fleet beside it.
    fleet(nodes=1, per_node=8, model="RACE-8")
    start, end = hours_from_now(2), hours_from_now(4)

    def attempt(i):
        try:
            booking_create(user=racers[i], start=start, end=end, request=GpuRequest(count=3, model="RACE-8"))
            return "created"
        except Conflict:
            return "conflict"

    outcomes = race(attempt)
    assert outcomes == {"created": 2, "conflict": 98}, outcomes
    assert [b.gpus.count() for b in Booking.objects.all()] == [3, 3]
    held = list(GpuOccupancy.objects.values_list("gpu_id", flat=True))
    assert len(held) == len(set(held)) == 6
