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
