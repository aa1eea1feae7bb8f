"""Sending the scheduler's Celery tasks, by name: the one way to enqueue. Services call these (after
commit) and never import scheduler.tasks, which imports the services: no import circle."""

from portal.celery import app

SCHEDULING_PASS_TASK = "jobs.scheduling_pass"
RUN_ATTEMPT_TASK = "jobs.run_attempt"
RUN_ATTEMPT_PART_TASK = "jobs.run_attempt_part"


def node_queue(node_name: str) -> str:
    """A node's runner tasks go to its own queue, consumed by that node's worker only."""
    return f"node.{node_name}"


def scheduling_pass_send(*, requested_at: str) -> None:
    app.send_task(SCHEDULING_PASS_TASK, kwargs={"requested_at": requested_at})


def attempt_send(*, attempt_id: int, node_name: str) -> None:
    # No retry: with the broker down the attempt stays queued in the database and is sent again.
    app.send_task(RUN_ATTEMPT_TASK, kwargs={"attempt_id": attempt_id}, queue=node_queue(node_name), retry=False)


def attempt_part_send(*, part_id: int, node_name: str) -> None:
    """One part of an attempt across nodes, to its node's queue (docs/jobs.md, "Jobs across nodes")."""
    app.send_task(RUN_ATTEMPT_PART_TASK, kwargs={"part_id": part_id}, queue=node_queue(node_name), retry=False)
