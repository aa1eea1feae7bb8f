"""What /healthz reports: each component's state, and whether all of them are up."""

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from portal.celery import app as celery_app
from portal.ops.beat import BEAT_HEARTBEAT
from portal.ops.selectors import freshest_heartbeat, seconds_since, stale_after
from portal.ops.services import heartbeat_record

HEALTH_PROBE = "healthz"  # the row /healthz writes to prove the database takes writes
GIB = 1024**3


@dataclass(frozen=True)
class ComponentHealth:
    ok: bool
    detail: str


def check_database() -> ComponentHealth:
    """The database takes a write, not only a read: on a full disk SQLite still answers SELECT 1 while
    every write fails."""
    try:
        heartbeat_record(name=HEALTH_PROBE)
        return ComponentHealth(True, f"{connection.vendor}, writable")
    except Exception as exc:
        return ComponentHealth(False, f"{type(exc).__name__}: {exc}")


def check_disk() -> ComponentHealth:
    """Free space where jobs write (and, embedded, where the database lives) against the reserve below
    which a job is stopped as "disk full" (ATELIER_JOB_DISK_RESERVE, docs/jobs.md "Disks")."""
    folders = [Path(settings.JOB_DATA_ROOT)]
    if connection.vendor == "sqlite":
        folders.append(Path(settings.DATABASES["default"]["NAME"]).parent)
    try:
        free, folder = min((shutil.disk_usage(_existing(folder)).free, folder) for folder in folders)
    except OSError as exc:
        return ComponentHealth(False, f"{type(exc).__name__}: {exc}")
    reserve = settings.JOB_DISK_RESERVE
    detail = f"{free / GIB:.1f} GiB free under {folder} (reserve {reserve / GIB:.1f} GiB)"
    return ComponentHealth(free >= reserve, detail if free >= reserve else f"below the reserve: {detail}")


def _existing(folder: Path) -> Path:
    """The folder, or its nearest existing parent (the job data folder appears with the first job)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def check_broker() -> ComponentHealth:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=settings.BROKER_CHECK_TIMEOUT)
            return ComponentHealth(True, conn.transport_cls if isinstance(conn.transport_cls, str) else "connected")
    except Exception as exc:
        return ComponentHealth(False, f"{type(exc).__name__}: {exc}")


def check_heartbeat(*, prefix: str, interval: float, label: str) -> ComponentHealth:
    beat = freshest_heartbeat(prefix=prefix)
    if beat is None:
        return ComponentHealth(False, f"no {label} has reported")
    age = seconds_since(beat.last_seen, timezone.now())
    limit = stale_after(interval)
    if age > limit:
        return ComponentHealth(False, f"last {label} heartbeat {age:.0f}s ago (limit {limit:.0f}s)")
    return ComponentHealth(True, f"last heartbeat {age:.1f}s ago")


def check_gpu_agent() -> ComponentHealth:
    """The freshest GPU agent heartbeat, with the backend it reads (nvml, or simulated and why)."""
    health = check_heartbeat(prefix="agent:", interval=settings.AGENT_INTERVAL, label="GPU agent")
    beat = freshest_heartbeat(prefix="agent:")
    if beat is None:
        return ComponentHealth(False, f"no GPU agent has reported (ATELIER_GPU_BACKEND={settings.GPU_BACKEND})")
    detail = beat.detail or {}
    backend = detail.get("backend", "unknown")
    if detail.get("simulated"):
        backend = f"simulated fleet ({detail.get('reason') or 'configured'})"
    return ComponentHealth(health.ok, f"{backend}, {beat.name}: {health.detail}")


def health_report() -> tuple[bool, dict]:
    database = check_database()
    components = {"database": database, "broker": check_broker(), "disk": check_disk()}
    if database.ok:
        components["worker"] = check_heartbeat(
            prefix="worker:", interval=settings.WORKER_HEARTBEAT_INTERVAL, label="worker"
        )
        components["beat"] = check_heartbeat(prefix=BEAT_HEARTBEAT, interval=settings.BEAT_TICK_INTERVAL, label="beat")
        components["gpu_backend"] = check_gpu_agent()
    else:
        components["gpu_backend"] = ComponentHealth(False, "database down: agent heartbeat unknown")
    healthy = all(component.ok for component in components.values())
    return healthy, {name: asdict(component) for name, component in components.items()}
