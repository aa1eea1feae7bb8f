from celery import shared_task

from portal.realtime.services import events_prune


@shared_task(name="realtime.prune_events")
def prune_events() -> int:
    return events_prune()
