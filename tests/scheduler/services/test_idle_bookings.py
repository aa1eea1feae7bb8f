"""A running booking whose GPUs all stay under 5 % utilization for the idle period (2 h by default)
is flagged once and its owner notified; missing telemetry is not idleness; auto-release is opt-in."""
from datetime import UTC, datetime, timedelta

import pytest

from portal.notifications.models import Notification
from scheduler.models import GpuOccupancy, GpuSample
from scheduler.selectors.quotas import team_usage
from scheduler.services import idle_bookings as idle
from tests.scheduler.factories import fleet, ids_request

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture
def running(researcher):
    from scheduler.services.reservations import reservation_create

    gpus = fleet(nodes=1, per_node=2)
    booking = reservation_create(user=researcher, start=NOW - 3 * H, end=NOW + 5 * H, request=ids_request(gpus), now=NOW - 4 * H)
    return booking, gpus


def samples(gpus, *, util, start, end, every=timedelta(minutes=1)):
    at = start
    while at <= end:
        GpuSample.objects.bulk_create(GpuSample(gpu=g, at=at, util_gpu_pct=util) for g in gpus)
        at += every


def test_a_booking_idle_for_two_hours_is_flagged_and_its_owner_notified(running, researcher, team_a):
    booking, gpus = running
    samples(gpus, util=2, start=NOW - 3 * H, end=NOW)
    assert idle.bookings_flag_idle(now=NOW) == [booking.pk]
    booking.refresh_from_db()
    assert (booking.idle_flagged_at, booking.idle_since) == (NOW, NOW - 2 * H)
    note = Notification.objects.get(user=researcher)
    assert (note.kind, note.title) == ("booking_idle", idle.IDLE_TITLE)
    assert note.body == idle.IDLE_BODY.format(gpus="node-00/gpu0, node-00/gpu1", pct=5, hours=2)
    assert team_usage(team_id=team_a.pk, month=NOW.date().replace(day=1)).idle_hours == 2 * 7  # 2 GPUs, idle_since to end
    assert idle.bookings_flag_idle(now=NOW + H) == []  # flagged once
    assert Notification.objects.count() == 1


def test_one_busy_gpu_keeps_the_booking_unflagged(running):
    booking, gpus = running
    samples(gpus[:1], util=1, start=NOW - 3 * H, end=NOW)
    samples(gpus[1:], util=1, start=NOW - 3 * H, end=NOW - 30 * timedelta(minutes=1))
    samples(gpus[1:], util=40, start=NOW - 29 * timedelta(minutes=1), end=NOW)
    assert idle.bookings_flag_idle(now=NOW) == []


@pytest.mark.parametrize(("start", "end"), [(NOW - 1 * H, NOW), (NOW - 3 * H, NOW - H)], ids=["samples-start-late", "samples-stop-early"])
def test_missing_telemetry_is_not_idleness(running, start, end):
    booking, gpus = running
    samples(gpus, util=0, start=start, end=end)
    assert idle.bookings_flag_idle(now=NOW) == []


def test_a_booking_younger_than_the_idle_period_is_not_flagged(researcher):
    from scheduler.services.reservations import reservation_create

    gpus = fleet(nodes=1, per_node=1)
    reservation_create(user=researcher, start=NOW - H, end=NOW + H, request=ids_request(gpus), now=NOW - 2 * H)
    samples(gpus, util=0, start=NOW - H, end=NOW)
    assert idle.bookings_flag_idle(now=NOW) == []


def test_auto_release_frees_the_rest_when_turned_on(running, researcher, settings):
    settings.BOOKING_IDLE_AUTO_RELEASE = True
    booking, gpus = running
    samples(gpus, util=0, start=NOW - 3 * H, end=NOW)
    assert idle.bookings_flag_idle(now=NOW) == [booking.pk]
    booking.refresh_from_db()
    assert (booking.end, booking.idle_released_at, booking.state) == (NOW, NOW, "active")
    assert set(GpuOccupancy.objects.values_list("end", flat=True)) == {NOW}
    assert Notification.objects.get(user=researcher).kind == "booking_released"


def test_the_beat_schedule_runs_the_idle_check(settings):
    assert settings.CELERY_BEAT_SCHEDULE["bookings-flag-idle"] == {"task": "bookings.flag_idle", "schedule": 300.0}
    assert (settings.BOOKING_IDLE_AFTER, settings.BOOKING_IDLE_UTILIZATION_PCT, settings.BOOKING_IDLE_AUTO_RELEASE) == (7200.0, 5.0, False)
