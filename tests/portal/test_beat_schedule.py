"""Beat's schedule: the project's own entries are in force even when the database lost their rows
(django-celery-beat reloads from the database every 5 minutes; an emptied table used to stop the
reaper and the scheduling pass, with beat's heartbeat still green)."""

import pytest
from django.conf import settings
from django_celery_beat.models import PeriodicTask

from portal.celery import app
from portal.ops.beat import HeartbeatDatabaseScheduler

pytestmark = pytest.mark.django_db


def test_the_projects_entries_come_back_when_their_rows_are_gone():
    scheduler = HeartbeatDatabaseScheduler(app=app, lazy=True)
    PeriodicTask.objects.all().delete()
    schedule = scheduler.all_as_schedule()
    assert set(settings.CELERY_BEAT_SCHEDULE) <= set(schedule)
    assert PeriodicTask.objects.filter(name="reap-lost-attempts", enabled=True).exists()


def test_an_entry_an_admin_disabled_stays_disabled():
    scheduler = HeartbeatDatabaseScheduler(app=app, lazy=True)
    scheduler.all_as_schedule()
    PeriodicTask.objects.filter(name="bookings-flag-idle").update(enabled=False)
    assert "bookings-flag-idle" not in scheduler.all_as_schedule()
    assert "reap-lost-attempts" in scheduler.all_as_schedule()


def test_a_tick_that_meets_a_database_error_is_tried_again_not_fatal(monkeypatch):
    from django.db import OperationalError
    from django_celery_beat.schedulers import DatabaseScheduler

    scheduler = HeartbeatDatabaseScheduler(app=app, lazy=True)

    def unreachable(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(DatabaseScheduler, "tick", unreachable)
    assert scheduler.tick() == settings.BEAT_TICK_INTERVAL


def test_a_heartbeat_that_cannot_be_written_does_not_stop_beat(monkeypatch):
    from django.db import OperationalError
    from django_celery_beat.schedulers import DatabaseScheduler

    import portal.ops.beat as beat

    scheduler = HeartbeatDatabaseScheduler(app=app, lazy=True)
    monkeypatch.setattr(DatabaseScheduler, "tick", lambda *args, **kwargs: 60.0)

    def unwritable(**kwargs):
        raise OperationalError("could not write")

    monkeypatch.setattr(beat, "heartbeat_record", unwritable)
    assert scheduler.tick() == settings.BEAT_TICK_INTERVAL
