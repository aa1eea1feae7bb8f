"""What /healthz reports: each component's state, and whether all of them are up."""

from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone

from portal.celery import app as celery_app
from portal.ops.beat import BEAT_HEARTBEAT
from portal.ops.selectors import freshest_heartbeat, seconds_since, stale_after


@dataclass(frozen=True)
class ComponentHealth:
    ok: bool
    detail: str


def check_database() -> ComponentHealth:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return ComponentHealth(True, connection.vendor)
    except Exception as exc:
        return ComponentHealth(False, f"{type(exc).__name__}: {exc}")


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
    components = {"database": database, "broker": check_broker()}
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
