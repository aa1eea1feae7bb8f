"""Celery beat with django-celery-beat's DatabaseScheduler, plus a heartbeat so /healthz sees beat."""
import time

from django.conf import settings
from django.db import close_old_connections
from django_celery_beat.schedulers import DatabaseScheduler

from portal.ops.services import heartbeat_record

BEAT_HEARTBEAT = "beat"


class HeartbeatDatabaseScheduler(DatabaseScheduler):
    _last_heartbeat = 0.0

    def tick(self, *args, **kwargs):
        delay = super().tick(*args, **kwargs)
        now = time.monotonic()
        if now - self._last_heartbeat >= settings.BEAT_TICK_INTERVAL:
            close_old_connections()
            heartbeat_record(name=BEAT_HEARTBEAT)
            self._last_heartbeat = now
        # Wake at least once per interval, so the heartbeat keeps coming when no task is due.
        return min(delay, settings.BEAT_TICK_INTERVAL)
