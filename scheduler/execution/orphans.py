"""What a node's worker does at start and on every heartbeat: kill the process groups of attempts on
this host that no runner of this worker is running (their runner died with a previous worker), and
record that they are gone, so the reaper may requeue their jobs (CONTRACT 6)."""
import logging
import socket
import threading
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from scheduler.execution.process import group_members, group_terminate
from scheduler.models import Attempt

log = logging.getLogger(__name__)

ATTEMPT_MARKER = "ATELIER_ATTEMPT_ID"

_running_here: set[int] = set()
_lock = threading.Lock()


def runner_register(attempt_id: int) -> None:
    with _lock:
        _running_here.add(attempt_id)


def runner_unregister(attempt_id: int) -> None:
    with _lock:
        _running_here.discard(attempt_id)


def attempt_group_members(*, attempt_id: int, pgid: int) -> list[int]:
    """Members of `pgid` that carry this attempt's marker: a recycled group id is never killed."""
    return [pid for pid in group_members(pgid) if _marker_of(pid) == str(attempt_id)]


def _marker_of(pid: int) -> str | None:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    for entry in environ.split(b"\0"):
        name, _, value = entry.partition(b"=")
        if name == ATTEMPT_MARKER.encode():
            return value.decode()
    return None


def orphans_kill(*, host: str | None = None) -> list[int]:
    """Kill what runs on this host for attempts this worker does not run; return their ids."""
    close_old_connections()
    host = host or socket.gethostname()
    with _lock:
        mine = set(_running_here)
    candidates = Attempt.objects.filter(host=host, pgid__isnull=False, processes_gone_at__isnull=True).exclude(pk__in=mine)
    cleared = []
    for attempt in candidates.only("pk", "pgid"):
        if attempt_group_members(attempt_id=attempt.pk, pgid=attempt.pgid):
            log.warning("killing orphaned process group %s of attempt %s", attempt.pgid, attempt.pk)
            group_terminate(pgid=attempt.pgid, grace_seconds=settings.JOB_KILL_GRACE_SECONDS)
        Attempt.objects.filter(pk=attempt.pk).update(processes_gone_at=timezone.now())
        cleared.append(attempt.pk)
    return cleared
