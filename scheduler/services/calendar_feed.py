"""The per-user iCalendar feed token: created on first use, regenerated to revoke an old URL."""

from django.db import transaction

from scheduler.models import CalendarFeed
from scheduler.models.bookings import _feed_token


def feed_ensure(*, user) -> CalendarFeed:
    feed, _ = CalendarFeed.objects.get_or_create(user=user)
    return feed


@transaction.atomic
def feed_regenerate(*, user) -> CalendarFeed:
    feed = feed_ensure(user=user)
    feed.token = _feed_token()
    feed.save(update_fields=["token"])
    return feed
