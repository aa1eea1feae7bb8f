"""Celery beat with django-celery-beat's DatabaseScheduler, plus a heartbeat so /healthz sees beat,
the project's own schedule (CELERY_BEAT_SCHEDULE) always in force, and ticks that outlive a
database outage."""

import logging
import time

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django_celery_beat.schedulers import DatabaseScheduler

from portal.ops.services import heartbeat_record

BEAT_HEARTBEAT = "beat"
log = logging.getLogger(__name__)


class HeartbeatDatabaseScheduler(DatabaseScheduler):
    _last_heartbeat = 0.0

    def all_as_schedule(self):
        """The database's entries, plus the settings' entries whose rows are gone. The scheduler
        reloads from the database on every change and every 5 minutes; without this, a database that
        lost those rows (restored from a backup, or flushed between tests) silently stops the reaper,
        the scheduling pass and the housekeeping. A row an admin disabled stays disabled."""
        schedule = super().all_as_schedule()
        for name, fields in self.app.conf.beat_schedule.items():
            if name in schedule:
                continue
            try:
                entry = self.Entry.from_entry(name, app=self.app, **fields)
            except Exception:
                log.exception("could not restore the beat entry %s", name)
                continue
            if entry.model.enabled:
                schedule[name] = entry
        return schedule

    def tick(self, *args, **kwargs):
        """One beat tick that survives the database going away: a tick that fails is logged and tried
        again after an interval, in the same process (beat used to exit, and nothing was reaped)."""
        try:
            delay = super().tick(*args, **kwargs)
        except DatabaseError as exc:
            self._database_lost(exc)
            return settings.BEAT_TICK_INTERVAL
        self._heartbeat()
        # Wake at least once per interval, so the heartbeat keeps coming when no task is due.
        return min(delay, settings.BEAT_TICK_INTERVAL)

    def _heartbeat(self) -> None:
        now = time.monotonic()
        if now - self._last_heartbeat < settings.BEAT_TICK_INTERVAL:
            return
        try:
            close_old_connections()
            heartbeat_record(name=BEAT_HEARTBEAT)
        except DatabaseError as exc:
            self._database_lost(exc)
            return
        self._last_heartbeat = now

    def _database_lost(self, exc: Exception) -> None:
        log.warning("beat: the database is unreachable (%s); trying again in %.1f s", exc, settings.BEAT_TICK_INTERVAL)
        try:
            connection.close()  # opened anew on the next try
        except Exception:
            pass
