from django.db.models import Max

from portal.realtime.models import Event

BATCH_LIMIT = 500


def latest_event_id() -> int:
    return Event.objects.aggregate(latest=Max("id"))["latest"] or 0


def events_after(*, after_id: int, topics: set[str], upto_id: int | None = None) -> list[Event]:
    events = Event.objects.filter(id__gt=after_id, topic__in=sorted(topics))
    if upto_id is not None:
        events = events.filter(id__lte=upto_id)
    return list(events.order_by("id")[:BATCH_LIMIT])
