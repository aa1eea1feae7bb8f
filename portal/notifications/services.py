"""Notifications: other apps call notification_send; the bell updates live through portal.realtime."""

from django.db import transaction
from django.utils import timezone

from portal.notifications.models import Notification
from portal.notifications.selectors import unread_count
from portal.realtime.services import event_publish


@transaction.atomic
def notification_send(*, user, kind: str, title: str, body: str = "", url: str = "") -> Notification:
    notification = Notification.objects.create(user=user, kind=kind, title=title[:200], body=body, url=url)
    _publish_unread(user=user, latest=notification)
    return notification


@transaction.atomic
def notifications_mark_read(*, user, notification: Notification | None = None) -> int:
    """Mark one notification, or all of the user's unread ones, as read."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification is not None:
        unread = unread.filter(pk=notification.pk)
    changed = unread.update(read_at=timezone.now())
    if changed:
        _publish_unread(user=user, latest=None)
    return changed


def _publish_unread(*, user, latest: Notification | None) -> None:
    payload = {"unread": unread_count(user=user)}
    if latest is not None:
        payload.update(id=latest.id, title=latest.title, kind=latest.kind, url=latest.url)
    event_publish(topic=f"user.{user.pk}", kind="notification", payload=payload)
