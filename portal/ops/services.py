from django.utils import timezone

from portal.ops.models import Heartbeat


def heartbeat_record(*, name: str, detail: dict | None = None) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"last_seen": timezone.now(), "detail": detail or {}})


def heartbeat_clear(*, name: str) -> None:
    Heartbeat.objects.filter(name=name).delete()
