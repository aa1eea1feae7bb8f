from django.db.models import Max, Min

from portal.realtime.models import Event

BATCH_LIMIT = 500


def latest_event_id() -> int:
    return Event.objects.aggregate(latest=Max("id"))["latest"] or 0


def resume_is_complete(*, after_id: int) -> bool:
    """Whether every event after `after_id` is still in the table. Pruning keeps the newest event,
    so once anything was published the oldest row says how far back the table reaches. (On
    PostgreSQL an id lost to a rolled-back insert can make this say False needlessly: the page then
    offers a reload it did not need, which is the safe side.)"""
    oldest = Event.objects.aggregate(oldest=Min("id"))["oldest"]
    return oldest is None or after_id >= oldest - 1


def events_after(*, after_id: int, topics: set[str], upto_id: int | None = None) -> list[Event]:
    events = Event.objects.filter(id__gt=after_id, topic__in=sorted(topics))
    if upto_id is not None:
        events = events.filter(id__lte=upto_id)
    return list(events.order_by("id")[:BATCH_LIMIT])
