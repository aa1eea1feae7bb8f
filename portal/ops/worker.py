"""Worker liveness (docs/jobs.md "When things fall over").

The `worker:<hostname>` heartbeat says the worker *consumes*, not only that its process lives: a
timer on the consumer's event loop (the ConsumerTick bootstep) notes each interval that the consumer
runs, connected; a daemon thread writes the heartbeat row each interval only while that note is
fresh. While the consumer reconnects, or after it died, the row ages and /healthz names the worker.
The database write stays in the thread: a slow database must not stall the event loop.

Apps add their own per-tick checks with register_worker_tick (the scheduler kills process groups
of attempts that are not running in this worker); they run at worker start and on every tick of the
thread, whether or not the consumer runs: they look after jobs, not messages.
"""

import logging
import threading
import time

from celery import bootsteps
from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import close_old_connections

from portal.ops.services import heartbeat_clear, heartbeat_record

log = logging.getLogger(__name__)
_stop = threading.Event()
_tick_hooks: list = []
# time.monotonic() of the consumer's last tick (None: none yet), written by the event loop, read by
# the heartbeat thread.
_consumer_ticked_at: float | None = None
# The heartbeat thread writes only while the consumer ticked within this many intervals.
CONSUMER_SILENT_AFTER_INTERVALS = 2


def register_worker_tick(hook) -> None:
    """Call `hook()` at worker start and on every heartbeat tick (hooks must be quick and not raise)."""
    _tick_hooks.append(hook)


def _run_hooks() -> None:
    for hook in _tick_hooks:
        try:
            hook()
        except Exception:
            log.exception("worker tick hook %s failed", getattr(hook, "__name__", hook))


def worker_heartbeat_name(hostname: str) -> str:
    return f"worker:{hostname}"


def consumer_consuming() -> bool:
    """The consumer's event loop ticked, connected, within the last intervals."""
    ticked_at = _consumer_ticked_at
    if ticked_at is None:
        return False
    return time.monotonic() - ticked_at <= CONSUMER_SILENT_AFTER_INTERVALS * settings.WORKER_HEARTBEAT_INTERVAL


def _consumer_tick(consumer) -> None:
    global _consumer_ticked_at
    if consumer.connection is not None and consumer.blueprint.state == bootsteps.RUN:
        _consumer_ticked_at = time.monotonic()


class ConsumerTick(bootsteps.StartStopStep):
    """Tick from the consumer's event loop while it consumes (Redis: the hub's timer, which runs only
    inside the loop; the filesystem broker has no event loop, its timer thread checks the consumer's
    state). Started once the task consumer exists, after every reconnection; stopped when the
    connection is lost."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, c, **kwargs):
        self.entry = None
        super().__init__(c, **kwargs)

    def start(self, c):
        _consumer_tick(c)
        self.entry = c.timer.call_repeatedly(settings.WORKER_HEARTBEAT_INTERVAL, _consumer_tick, (c,), priority=10)

    def stop(self, c):
        if self.entry is not None:
            self.entry.cancel()
            self.entry = None

    shutdown = stop


def heartbeat_tick(hostname: str, *, silence_logged: bool = False) -> bool:
    """One tick of the heartbeat thread: the row while the consumer consumes, then the apps' hooks.
    Returns whether the consumer is silent (its first silent tick is logged, not the next ones)."""
    silent = not consumer_consuming()
    if not silent:
        try:
            close_old_connections()
            heartbeat_record(name=worker_heartbeat_name(hostname), detail={"hostname": hostname})
        except Exception:  # the database may be briefly unreachable; keep trying
            log.warning("worker heartbeat failed", exc_info=True)
    elif not silence_logged:
        log.warning("the consumer is not consuming (reconnecting to the broker, or dead): no worker heartbeat")
    _run_hooks()
    return silent


def _beat_forever(hostname: str) -> None:
    silent = False
    while not _stop.is_set():
        silent = heartbeat_tick(hostname, silence_logged=silent)
        _stop.wait(settings.WORKER_HEARTBEAT_INTERVAL)


@worker_ready.connect
def start_heartbeat(sender=None, **kwargs):
    hostname = getattr(sender, "hostname", "worker")
    threading.Thread(target=_beat_forever, args=(hostname,), name="atelier-heartbeat", daemon=True).start()


@worker_shutdown.connect
def stop_heartbeat(sender=None, **kwargs):
    _stop.set()
    try:
        heartbeat_clear(name=worker_heartbeat_name(getattr(sender, "hostname", "worker")))
    except Exception:
        log.warning("could not clear the worker heartbeat", exc_info=True)
