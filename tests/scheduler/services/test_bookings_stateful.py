"""Random book / extend / shorten / cancel across 3 teams and 16 GPUs, with the clock moving on.
After every step an independent brute-force check over the stored rows: no GPU is double-booked,
no team is over any quota, and every active booking's rows match its window."""

from datetime import UTC, datetime, timedelta
from itertools import combinations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from portal.errors import Conflict
from scheduler.models import Booking, BookingState, GpuOccupancy
from scheduler.selectors.placement import GpuRequest
from scheduler.services.bookings import Change, booking_cancel, booking_create, booking_update
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.scheduler.factories import fleet, quota_set

START = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)  # close to a month boundary on purpose
H = timedelta(hours=1)
LIMITS = {"gpu_hours_per_month": 150, "max_concurrent_gpus": 6, "max_booking_hours": 30, "booking_horizon_days": 10}


@pytest.fixture
def world(db):
    gpus = fleet(nodes=2, per_node=8)
    users = []
    for t in range(3):
        team = TeamFactory(name=f"Stateful {t}")
        quota_set(team, **LIMITS)
        users.append(MembershipFactory(team=team, user=UserFactory(username=f"stateful{t}"), is_researcher=True).user)
    return gpus, users


def test_random_bookings_keep_every_invariant(world):
    gpus, users = world

    class Bookings(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            Booking.objects.all().delete()
            self.now = START

        @rule(
            who=st.integers(0, 2),
            first=st.integers(0, 15),
            width=st.integers(1, 4),
            offset=st.integers(0, 60),
            hours=st.integers(1, 36),
        )
        def book_named(self, who, first, width, offset, hours):
            request = GpuRequest(gpu_ids=tuple(g.pk for g in gpus[first : first + width]))
            self._book(users[who], request, offset, hours)

        @rule(
            who=st.integers(0, 2),
            count=st.integers(1, 10),
            same_node=st.booleans(),
            offset=st.integers(0, 60),
            hours=st.integers(1, 36),
        )
        def book_count(self, who, count, same_node, offset, hours):
            self._book(users[who], GpuRequest(count=count, same_node=same_node), offset, hours)

        def _book(self, user, request, offset, hours):
            start = self.now + offset * H
            self._try(
                lambda: booking_create(user=user, start=start, end=start + hours * H, request=request, now=self.now)
            )

        @precondition(lambda self: Booking.objects.exists())
        @rule(pick=st.integers(0, 10_000), delta=st.integers(-20, 20), move=st.integers(-6, 6))
        def change(self, pick, delta, move):
            booking = self._pick(pick)
            change = Change(start=booking.start + move * H if move else None, end=booking.end + delta * H)
            self._try(lambda: booking_update(booking=booking, by=booking.user, change=change, now=self.now))

        @precondition(lambda self: Booking.objects.exists())
        @rule(pick=st.integers(0, 10_000))
        def cancel(self, pick):
            booking = self._pick(pick)
            self._try(lambda: booking_cancel(booking=booking, by=booking.user, now=self.now))

        @rule(hours=st.integers(1, 12))
        def time_passes(self, hours):
            self.now += hours * H

        def _pick(self, pick):
            bookings = list(Booking.objects.order_by("pk"))
            return bookings[pick % len(bookings)]

        def _try(self, action):
            try:
                action()
            except (
                ValidationError,
                PermissionDenied,
                Conflict,
            ):  # 400, 403 or 409: refused cleanly; anything else fails
                pass

        @invariant()
        def no_gpu_is_double_booked(self):
            rows = list(GpuOccupancy.objects.values_list("gpu_id", "start", "end"))
            for (g1, s1, e1), (g2, s2, e2) in combinations(rows, 2):
                assert not (g1 == g2 and s1 < e2 and s2 < e1), (g1, s1, e1, s2, e2)

        @invariant()
        def no_team_is_over_quota(self):
            rows = list(GpuOccupancy.objects.values_list("team_id", "start", "end"))
            for team_id in {t for t, _, _ in rows}:
                mine = [(s, e) for t, s, e in rows if t == team_id]
                for instant in {s for s, _ in mine}:
                    assert sum(1 for s, e in mine if s <= instant < e) <= LIMITS["max_concurrent_gpus"]
                for month_start, month_end in (
                    (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
                    (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
                ):
                    hours = (
                        sum(max(0.0, (min(e, month_end) - max(s, month_start)).total_seconds()) for s, e in mine) / 3600
                    )
                    assert hours <= LIMITS["gpu_hours_per_month"] + 1e-6

        @invariant()
        def active_bookings_hold_exactly_their_window(self):
            for booking in Booking.objects.prefetch_related("occupancy", "gpus"):
                windows = {(r.gpu_id, r.start, r.end) for r in booking.occupancy.all()}
                if booking.state == BookingState.ACTIVE:
                    assert windows == {(g.pk, booking.start, booking.end) for g in booking.gpus.all()}
                    assert booking.end - booking.start <= LIMITS["max_booking_hours"] * H
                else:
                    assert all(end <= booking.end for _, _, end in windows)

    run_state_machine_as_test(Bookings, settings=settings(stateful_step_count=25))
