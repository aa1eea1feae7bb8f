"""What the GPU board shows per GPU: who holds it now, who is next, and whether the booking is idle."""

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.selectors.bookings import bookings_now_and_next
from scheduler.services.bookings import booking_create
from tests.scheduler.factories import fleet, ids_request

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
H = timedelta(hours=1)


def test_each_gpu_shows_the_current_and_the_next_booking(researcher, outsider):
    gpus = fleet(nodes=1, per_node=3)
    current = booking_create(
        user=researcher, start=NOW - H, end=NOW + H, request=ids_request(gpus[:1]), now=NOW - 2 * H
    )
    following = booking_create(
        user=outsider, start=NOW + 2 * H, end=NOW + 3 * H, request=ids_request(gpus[:2]), now=NOW - 2 * H
    )
    booking_create(user=outsider, start=NOW + 4 * H, end=NOW + 5 * H, request=ids_request(gpus[:1]), now=NOW - 2 * H)
    current.idle_flagged_at = NOW
    current.save()
    board = bookings_now_and_next(now=NOW)
    assert {
        gpu: {k: (v["booking"], v["user"], v["idle"]) for k, v in slots.items()} for gpu, slots in board.items()
    } == {
        gpus[0].pk: {"now": (current.pk, "researcher", True), "next": (following.pk, "outsider", False)},
        gpus[1].pk: {"next": (following.pk, "outsider", False)},
    }


def test_a_drain_affects_the_running_and_future_bookings_on_its_gpus(researcher, outsider):
    from scheduler.selectors.fleet import bookings_affected_by_drain
    from scheduler.services.bookings import booking_cancel

    gpus = fleet(nodes=1, per_node=3)
    past = booking_create(
        user=researcher, start=NOW - 3 * H, end=NOW - H, request=ids_request(gpus[:1]), now=NOW - 4 * H
    )
    running = booking_create(
        user=researcher, start=NOW - H, end=NOW + H, request=ids_request(gpus[:2]), now=NOW - 2 * H
    )
    future = booking_create(
        user=outsider, start=NOW + 2 * H, end=NOW + 3 * H, request=ids_request(gpus[1:2]), now=NOW - 2 * H
    )
    cancelled = booking_create(
        user=outsider, start=NOW + 4 * H, end=NOW + 5 * H, request=ids_request(gpus[:1]), now=NOW - 2 * H
    )
    booking_cancel(booking=cancelled, by=outsider, now=NOW - H)
    elsewhere = booking_create(
        user=outsider, start=NOW + 2 * H, end=NOW + 3 * H, request=ids_request(gpus[2:]), now=NOW - 2 * H
    )
    assert list(bookings_affected_by_drain(gpu_ids=[gpus[0].pk, gpus[1].pk], now=NOW)) == [running, future]
    assert past.pk and elsewhere.pk
