"""A running booking whose GPUs all stay under 5 % utilization for the idle period (2 h by default)
is flagged once and its owner notified; missing telemetry is not idleness; auto-release is opt-in."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from portal.notifications.models import Notification
from scheduler.models import GpuOccupancy, GpuSample, Job
from scheduler.selectors.quotas import team_usage
from scheduler.services import idle_bookings as idle
from scheduler.services.jobs import job_submit
from tests.scheduler.factories import fleet, ids_request

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture
def running(researcher):
    from scheduler.services.bookings import booking_create

    gpus = fleet(nodes=1, per_node=2)
    booking = booking_create(
        user=researcher, start=NOW - 3 * H, end=NOW + 5 * H, request=ids_request(gpus), now=NOW - 4 * H
    )
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
    assert note.body == "Your GPUs node-00/gpu0, node-00/gpu1 stayed under 5 % utilization for 2 h. " + (
        "Release the rest if you no longer need it."
    )
    assert note.url == f"/bookings/{booking.pk}/release/"
    month = NOW.date().replace(day=1)
    assert team_usage(team_id=team_a.pk, month=month, now=NOW).idle_hours == 2 * 2  # 2 GPUs, idle_since to now
    assert idle.bookings_flag_idle(now=NOW + H) == []  # flagged once
    assert Notification.objects.count() == 1


def test_one_busy_gpu_keeps_the_booking_unflagged(running):
    booking, gpus = running
    samples(gpus[:1], util=1, start=NOW - 3 * H, end=NOW)
    samples(gpus[1:], util=1, start=NOW - 3 * H, end=NOW - 30 * timedelta(minutes=1))
    samples(gpus[1:], util=40, start=NOW - 29 * timedelta(minutes=1), end=NOW)
    assert idle.bookings_flag_idle(now=NOW) == []


@pytest.mark.parametrize(
    ("start", "end"), [(NOW - 1 * H, NOW), (NOW - 3 * H, NOW - H)], ids=["samples-start-late", "samples-stop-early"]
)
def test_missing_telemetry_is_not_idleness(running, start, end):
    booking, gpus = running
    samples(gpus, util=0, start=start, end=end)
    assert idle.bookings_flag_idle(now=NOW) == []


def test_a_booking_younger_than_the_idle_period_is_not_flagged(researcher):
    from scheduler.services.bookings import booking_create

    gpus = fleet(nodes=1, per_node=1)
    booking_create(user=researcher, start=NOW - H, end=NOW + H, request=ids_request(gpus), now=NOW - 2 * H)
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
    assert (settings.BOOKING_IDLE_AFTER, settings.BOOKING_IDLE_UTILIZATION_PCT, settings.BOOKING_IDLE_AUTO_RELEASE) == (
        7200.0,
        5.0,
        False,
    )


# --- clearing the flag when the GPUs are busy again ---------------------------------------------


def flagged(running):
    booking, gpus = running
    samples(gpus, util=2, start=NOW - 3 * H, end=NOW)
    assert idle.bookings_flag_idle(now=NOW) == [booking.pk]
    return booking, gpus


def month_idle_hours(team, *, now=NOW + 10 * H):
    """The month's idle hours, read by default after the booking's end (NOW + 5 h)."""
    return team_usage(team_id=team.pk, month=NOW.date().replace(day=1), now=now).idle_hours


def test_a_busy_sample_clears_the_flag_and_closes_the_idle_period(running, team_a):
    booking, gpus = flagged(running)
    samples(gpus, util=1, start=NOW + timedelta(minutes=1), end=NOW + timedelta(minutes=29))
    assert idle.bookings_clear_idle(now=NOW + timedelta(minutes=29)) == []  # still idle: still flagged
    samples(gpus[1:], util=60, start=NOW + timedelta(minutes=30), end=NOW + H)

    assert idle.bookings_clear_idle(now=NOW + H) == [booking.pk]
    booking.refresh_from_db()
    assert (booking.idle_flagged_at, booking.idle_since) == (None, None)
    assert list(booking.idle_periods.values_list("start", "end")) == [(NOW - 2 * H, NOW + timedelta(minutes=30))]
    assert month_idle_hours(team_a) == 2 * 2.5  # 2 GPUs from NOW - 2 h to the busy sample, not to the end
    assert idle.bookings_clear_idle(now=NOW + 2 * H) == []  # cleared once


def test_a_job_running_in_the_booking_clears_the_flag(running, researcher, team_a):
    booking, gpus = flagged(running)
    with time_machine.travel(NOW, tick=False):  # submitted at the test's NOW, whatever the wall clock says
        job = job_submit(user=researcher, command="true", gpus=1, time_limit=timedelta(hours=1), booking_id=booking.pk)
    Job.objects.filter(pk=job.pk).update(state="running", started_at=NOW + timedelta(minutes=10))
    assert idle.bookings_clear_idle(now=NOW + timedelta(minutes=15)) == [booking.pk]
    assert list(booking.idle_periods.values_list("end", flat=True)) == [NOW + timedelta(minutes=10)]


def test_a_booking_idle_again_is_flagged_again_and_both_periods_count(running, team_a):
    booking, gpus = flagged(running)
    samples(gpus, util=80, start=NOW + timedelta(minutes=1), end=NOW + timedelta(minutes=30))
    assert idle.bookings_clear_idle(now=NOW + timedelta(minutes=30)) == [booking.pk]
    samples(gpus, util=0, start=NOW + timedelta(minutes=31), end=NOW + 3 * H)
    assert idle.bookings_flag_idle(now=NOW + 3 * H) == [booking.pk]
    periods = list(booking.idle_periods.order_by("start").values_list("start", "end"))
    assert periods == [(NOW - 2 * H, NOW + timedelta(minutes=1)), (NOW + H, None)]
    # 2 GPUs × (2 h + 1 min) for the first period, 2 GPUs × (NOW + 1 h → end at NOW + 5 h) for the second.
    assert month_idle_hours(team_a) == pytest.approx(2 * (2 + 1 / 60) + 2 * 4)


def test_starting_a_job_in_a_flagged_booking_clears_the_flag_at_once(researcher, admin):
    from django.utils import timezone

    from scheduler.models import Booking, Gpu
    from tests.scheduler.factories import booking as make_booking
    from tests.scheduler.factories import running_job

    Gpu.objects.update(state="drained")  # a session stack's fleet: keep the scheduler on this test's GPUs
    gpus = fleet(nodes=1, per_node=1, prefix="idle-claim")
    gpus[0].node.last_heartbeat = timezone.now()
    gpus[0].node.save(update_fields=["last_heartbeat"])
    booking = make_booking(user=researcher, gpus=gpus, start=timezone.now(), end=timezone.now() + 4 * H)
    Booking.objects.filter(pk=booking.pk).update(idle_since=timezone.now() - H, idle_flagged_at=timezone.now())
    booking.idle_periods.create(start=timezone.now() - H, flagged_at=timezone.now())

    running_job(researcher, booking_id=booking.pk)  # placed in the booking and claimed by a worker
    booking.refresh_from_db()
    assert booking.idle_flagged_at is None and booking.idle_periods.get().end is not None


def test_the_beat_task_clears_then_flags(running, monkeypatch):
    from scheduler.tasks import flag_idle

    booking, gpus = flagged(running)
    samples(gpus, util=90, start=NOW + timedelta(minutes=1), end=NOW + timedelta(minutes=2))
    monkeypatch.setattr(idle.timezone, "now", lambda: NOW + timedelta(minutes=3))
    assert flag_idle() == {"cleared": [booking.pk], "flagged": []}


# --- idle hours count only hours that have passed (issue 24) -------------------------------------


def test_idle_hours_never_include_the_future(running, team_a):
    flagged(running)  # 2 GPUs idle since NOW - 2 h; the booking ends at NOW + 5 h

    month = NOW.date().replace(day=1)
    with time_machine.travel(NOW + timedelta(minutes=4), tick=False):  # the report reads at the wall clock
        assert team_usage(team_id=team_a.pk, month=month).idle_hours == pytest.approx(2 * (2 + 4 / 60))
    with time_machine.travel(NOW + 10 * H, tick=False):  # past the booking's end: the whole idle stretch
        assert team_usage(team_id=team_a.pk, month=month).idle_hours == pytest.approx(2 * 7)


# --- who hears of it, and in what words (issue 24) -------------------------------------------------


def test_the_owner_and_the_teams_admins_hear_of_it_in_words(running, researcher, team_admin, admin, outsider, settings):
    settings.BOOKING_IDLE_AFTER = 7500.0  # 2 h 5 min
    booking, gpus = running
    samples(gpus, util=2, start=NOW - 3 * H, end=NOW)

    assert idle.bookings_flag_idle(now=NOW) == [booking.pk]

    notes = {n.user.username: n for n in Notification.objects.select_related("user")}
    assert set(notes) == {"researcher", "lead"}  # not the site admin, not another team
    assert "for 2 h 5 min." in notes["researcher"].body
    assert notes["lead"].title == "A booking of Team A looks idle"
    assert notes["lead"].body.startswith("researcher's GPUs node-00/gpu0, node-00/gpu1 stayed under 5 % utilization")
    assert "for 2 h 5 min." in notes["lead"].body
    assert {n.url for n in notes.values()} == {f"/bookings/{booking.pk}/release/"}


def test_an_owner_who_administers_the_team_hears_once(team_admin, settings):
    from scheduler.services.bookings import booking_create

    settings.BOOKING_IDLE_AFTER = 20 * 60.0
    gpus = fleet(nodes=1, per_node=1)
    booking = booking_create(user=team_admin, start=NOW - H, end=NOW + H, request=ids_request(gpus), now=NOW - 2 * H)
    samples(gpus, util=0, start=NOW - H, end=NOW)

    assert idle.bookings_flag_idle(now=NOW) == [booking.pk]

    note = Notification.objects.get()
    assert (note.user, note.title) == (team_admin, idle.IDLE_TITLE) and "for 20 min." in note.body


def test_auto_release_tells_the_teams_admins_too(running, team_admin, settings):
    settings.BOOKING_IDLE_AUTO_RELEASE = True
    booking, gpus = running
    samples(gpus, util=0, start=NOW - 3 * H, end=NOW)

    idle.bookings_flag_idle(now=NOW)

    lead = Notification.objects.get(user=team_admin)
    assert (lead.kind, lead.title) == ("booking_released", "An idle booking of Team A was released")
