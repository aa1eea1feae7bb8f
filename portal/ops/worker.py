"""Worker liveness: every Celery worker writes `worker:<hostname>` each interval from a daemon thread.

Apps add their own per-tick checks with register_worker_tick (the scheduler kills process groups
of attempts that are not running in this worker); they run at worker start and on every tick.
"""

import logging
import threading

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import close_old_connections

from portal.ops.services import heartbeat_clear, heartbeat_record

log = logging.getLogger(__name__)
_stop = threading.Event()
_tick_hooks: list = []


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


def _beat_forever(hostname: str) -> None:
    while not _stop.is_set():
        try:
            close_old_connections()
            heartbeat_record(name=worker_heartbeat_name(hostname), detail={"hostname": hostname})
        except Exception:  # the database may be briefly unreachable; keep trying
            log.warning("worker heartbeat failed", exc_info=True)
        _run_hooks()
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
