"""Extend, shorten and cancel: a cancelled or shortened booking frees the rest at once; a started
booking can only be shortened or ended now, never moved into the past."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from portal.errors import Conflict
from scheduler.models import BookingState, GpuOccupancy
from scheduler.services import bookings as svc
from scheduler.services.bookings import (
    Change,
    QuotaExceeded,
    booking_cancel,
    booking_create,
    booking_update,
)
from tests.scheduler.factories import fleet, ids_request, quota_set

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture
def gpus(db):
    return fleet(nodes=1, per_node=4)


def book(user, gpus, start, end):
    return booking_create(user=user, start=start, end=end, request=ids_request(gpus), now=NOW)


def windows():
    return sorted((r.gpu_id, r.start, r.end) for r in GpuOccupancy.objects.all())


def errors_of(excinfo) -> dict:
    return {field: [str(m) for m in msgs] for field, msgs in excinfo.value.message_dict.items()}


def test_extending_and_shortening_move_every_gpu_row(researcher, gpus):
    booking = book(researcher, gpus[:2], NOW + H, NOW + 3 * H)
    booking_update(booking=booking, by=researcher, change=Change(end=NOW + 5 * H), now=NOW)
    assert windows() == [(g.pk, NOW + H, NOW + 5 * H) for g in gpus[:2]]
    booking_update(booking=booking, by=researcher, change=Change(start=NOW + 2 * H, end=NOW + 4 * H), now=NOW)
    assert windows() == [(g.pk, NOW + 2 * H, NOW + 4 * H) for g in gpus[:2]]


def test_shortening_frees_the_rest_for_someone_else_at_once(researcher, outsider, gpus):
    booking = book(researcher, gpus[:1], NOW + H, NOW + 5 * H)
    booking_update(booking=booking, by=researcher, change=Change(end=NOW + 2 * H), now=NOW)
    assert book(outsider, gpus[:1], NOW + 2 * H, NOW + 5 * H).team.name == "Team B"


def test_extending_into_another_booking_conflicts_and_changes_nothing(researcher, outsider, gpus):
    booking = book(researcher, gpus[:1], NOW + H, NOW + 3 * H)
    other = book(outsider, gpus[:1], NOW + 4 * H, NOW + 6 * H)
    with pytest.raises(Conflict) as excinfo:
        booking_update(booking=booking, by=researcher, change=Change(end=NOW + 5 * H), now=NOW)
    assert [c["booking"] for c in excinfo.value.extra["conflicts"]] == [other.pk]
    assert windows() == [(gpus[0].pk, NOW + H, NOW + 3 * H), (gpus[0].pk, NOW + 4 * H, NOW + 6 * H)]


def test_extending_over_quota_is_refused(researcher, team_a, gpus):
    quota_set(team_a, max_booking_hours=4)
    booking = book(researcher, gpus[:1], NOW + H, NOW + 3 * H)
    with pytest.raises(QuotaExceeded):
        booking_update(booking=booking, by=researcher, change=Change(end=NOW + 6 * H), now=NOW)


def test_a_started_booking_can_be_shortened_or_ended_now(researcher, gpus):
    booking = book(researcher, gpus[:1], NOW + H, NOW + 5 * H)
    later = NOW + 2 * H
    booking_update(booking=booking, by=researcher, change=Change(end=NOW + 4 * H), now=later)
    booking_update(booking=booking, by=researcher, change=Change(end=later), now=later)
    assert windows() == [(gpus[0].pk, NOW + H, later)]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (Change(end=NOW + 6 * H), "end", svc.STARTED_ONLY_SHORTEN),
        (Change(start=NOW + 3 * H), "start", svc.STARTED_START_FIXED),
        (Change(end=NOW + 90 * timedelta(minutes=1)), "end", svc.END_IN_PAST),
    ],
    ids=["extend", "move-start", "end-in-past"],
)
def test_a_started_booking_never_grows_or_moves_into_the_past(researcher, gpus, change, field, message):
    booking = book(researcher, gpus[:1], NOW + H, NOW + 5 * H)
    with pytest.raises(ValidationError) as excinfo:
        booking_update(booking=booking, by=researcher, change=change, now=NOW + 2 * H)
    assert errors_of(excinfo) == {field: [message]}
    assert windows() == [(gpus[0].pk, NOW + H, NOW + 5 * H)]


def test_a_future_booking_cannot_move_into_the_past(researcher, gpus):
    booking = book(researcher, gpus[:1], NOW + H, NOW + 5 * H)
    with pytest.raises(ValidationError) as excinfo:
        booking_update(booking=booking, by=researcher, change=Change(start=NOW - H), now=NOW)
    assert errors_of(excinfo) == {"start": [svc.START_IN_PAST]}


def test_only_the_owner_changes_the_note(researcher, team_admin, gpus):
    booking = book(researcher, gpus[:1], NOW + H, NOW + 5 * H)
    with pytest.raises(PermissionDenied):
        booking_update(booking=booking, by=team_admin, change=Change(note="mine now"), now=NOW)
    assert booking_update(booking=booking, by=researcher, change=Change(note="v2"), now=NOW).note == "v2"


def test_cancelling_a_future_booking_frees_it_and_keeps_the_record(researcher, gpus):
    booking = book(researcher, gpus[:2], NOW + H, NOW + 3 * H)
    cancelled = booking_cancel(booking=booking, by=researcher, now=NOW)
    assert (cancelled.state, cancelled.start, cancelled.end, cancelled.gpus.count()) == (
        BookingState.CANCELLED,
        NOW + H,
        NOW + 3 * H,
        2,
    )
    assert windows() == []


def test_cancelling_a_started_booking_keeps_the_hours_it_held(researcher, gpus):
    booking = book(researcher, gpus[:1], NOW + H, NOW + 5 * H)
    cancelled = booking_cancel(booking=booking, by=researcher, now=NOW + 2 * H)
    assert (cancelled.state, cancelled.end) == (BookingState.CANCELLED, NOW + 2 * H)
    assert windows() == [(gpus[0].pk, NOW + H, NOW + 2 * H)]


@pytest.mark.parametrize("when", ["cancelled", "ended"])
def test_a_cancelled_or_ended_booking_cannot_change(researcher, gpus, when):
    booking = book(researcher, gpus[:1], NOW + H, NOW + 2 * H)
    now = NOW
    if when == "cancelled":
        booking_cancel(booking=booking, by=researcher, now=NOW)
    else:
        now = NOW + 3 * H
    message = svc.CANCELLED if when == "cancelled" else svc.ENDED
    for action in (
        lambda: booking_update(booking=booking, by=researcher, change=Change(end=NOW + 4 * H), now=now),
        lambda: booking_cancel(booking=booking, by=researcher, now=now),
    ):
        with pytest.raises(ValidationError) as excinfo:
            action()
        assert errors_of(excinfo) == {"state": [message]}
