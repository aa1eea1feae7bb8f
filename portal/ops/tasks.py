from celery import shared_task

from portal.ops.services import heartbeat_record


@shared_task(name="ops.probe")
def probe(*, name: str) -> None:
    """Record that a worker ran this task: proves the broker-to-worker path end to end."""
    heartbeat_record(name=f"probe:{name}")
