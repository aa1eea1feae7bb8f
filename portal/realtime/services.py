"""Publishing realtime events. Other apps call event_publish; they never touch the channel layer."""

import logging
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.realtime.models import Event

log = logging.getLogger(__name__)

WAKE_GROUP = "realtime.wake"


def event_publish(*, topic: str, kind: str, payload: dict) -> Event:
    """Record an event; after commit, wake the consumers so they deliver it without waiting a poll."""
    event = Event.objects.create(topic=topic, kind=kind, payload=payload)
    transaction.on_commit(_wake_consumers)
    return event


def _wake_consumers() -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(WAKE_GROUP, {"type": "events.wake"})
    except Exception:  # the wake-up is an optimisation: consumers poll the table anyway
        log.warning("realtime wake-up failed; consumers will deliver on their next poll", exc_info=True)


def events_prune(*, older_than: timedelta | None = None) -> int:
    """Drop delivered history; a client offline longer than this is told it missed events
    (selectors.resume_is_complete) and offered a reload. The newest event always stays: it marks how
    far back the table reaches."""
    age = timedelta(seconds=settings.REALTIME_EVENT_RETENTION) if older_than is None else older_than
    newest = Event.objects.order_by("-id").values_list("id", flat=True).first()
    deleted, _ = Event.objects.filter(created_at__lt=timezone.now() - age).exclude(id=newest).delete()
    return deleted
