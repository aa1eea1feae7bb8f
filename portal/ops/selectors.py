from datetime import datetime

from django.conf import settings

from portal.ops.models import Heartbeat


def stale_after(interval: float) -> float:
    """Seconds without a heartbeat after which a component counts as down (docs/decisions.md §10)."""
    return max(settings.HEALTH_STALE_AFTER_INTERVALS * interval, settings.HEALTH_MIN_STALE_SECONDS)


def freshest_heartbeat(*, prefix: str) -> Heartbeat | None:
    return Heartbeat.objects.filter(name__startswith=prefix).order_by("-last_seen").first()


def seconds_since(instant: datetime, now: datetime) -> float:
    return max((now - instant).total_seconds(), 0.0)
