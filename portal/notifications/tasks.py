from celery import shared_task
from django.contrib.auth import get_user_model

from portal.notifications.services import notification_send


@shared_task(name="notifications.send")
def send(*, user_id: int, kind: str, title: str, body: str = "", url: str = "") -> None:
    """Notify from outside a request (bulk notices after a drain, say). Skips users deleted meanwhile."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is not None:
        notification_send(user=user, kind=kind, title=title, body=body, url=url)
