"""Process groups nobody supervises any more, and who stops them (docs/decisions.md §6).

Two sweeps, each touching only attempts of its own node(s), never by host name:

- The worker's, at start and on every heartbeat (`orphans_kill`): a group is killed only when the
  database says its attempt is no longer live (lost, ended) *and* no runner of this worker
  supervises it. A running attempt is never killed here, whoever runs it. Parts of attempts across
  nodes are swept by the same rule, by their own node.
- The node agent's, every tick (`runnerless_groups_stop`): a group whose runner's worker process is
  gone (pid and start time from the runner file) is stopped, whatever the database says or whether
  it can be reached; and a group that is gone is recorded as gone, so the reaper may requeue (a
  part's group: its part ended lost, and the attempt's other parts stop).
"""

import logging

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from scheduler.execution.ownership import (
    RunnerFile,
    runner_alive,
    runner_files,
    supervised_attempts,
    worker_identity,
)
from scheduler.execution.process import attempt_marker_of, group_members, group_terminate, process_groups
from scheduler.models import ATTEMPT_LIVE_STATES, Attempt, AttemptPart, AttemptPartState
from scheduler.services.jobs import attempt_part_gone

log = logging.getLogger(__name__)


def attempt_group_members(*, attempt_id: int, pgid: int, groups: dict[int, list[int]] | None = None) -> list[int]:
    """Members of `pgid` that carry this attempt's marker: a recycled group id is never killed.
    `groups`: one reading of process_groups() shared by several calls."""
    members = group_members(pgid) if groups is None else groups.get(pgid, [])
    return [pid for pid in members if attempt_marker_of(pid) == str(attempt_id)]


def processes_gone_record(attempt_id: int) -> None:
    Attempt.objects.filter(pk=attempt_id, processes_gone_at__isnull=True).update(processes_gone_at=timezone.now())


def orphans_kill(*, nodes: frozenset[str] | None = None) -> list[int]:
    """Kill what runs for attempts of this worker's nodes that are no longer live and that no runner
    of this worker supervises; record them gone. Return their ids."""
    close_old_connections()
    nodes = worker_identity().nodes if nodes is None else nodes
    if not nodes:
        return []
    candidates = (
        Attempt.objects.filter(node__name__in=nodes, pgid__isnull=False, processes_gone_at__isnull=True)
        .exclude(state__in=ATTEMPT_LIVE_STATES)
        .exclude(pk__in=supervised_attempts())
    )
    cleared = []
    for attempt_id, pgid in candidates.values_list("pk", "pgid"):
        if attempt_group_members(attempt_id=attempt_id, pgid=pgid):
            log.warning(
                "killing process group %s of attempt %s: the attempt is no longer live and no runner here supervises it",
                pgid,
                attempt_id,
            )
            group_terminate(pgid=pgid, grace_seconds=settings.JOB_KILL_GRACE_SECONDS)
        processes_gone_record(attempt_id)
        cleared.append(attempt_id)
    return cleared + _orphan_parts_kill(nodes)


def _orphan_parts_kill(nodes: frozenset[str]) -> list[int]:
    """The same rule for the parts of attempts across nodes that ran on this worker's nodes: a part
    still marked running whose attempt is no longer live and that no runner here supervises."""
    candidates = (
        AttemptPart.objects.filter(node__name__in=nodes, pgid__isnull=False, state=AttemptPartState.RUNNING)
        .exclude(attempt__state__in=ATTEMPT_LIVE_STATES)
        .exclude(attempt_id__in=supervised_attempts())
    )
    cleared = []
    for part_id, attempt_id, pgid in candidates.values_list("pk", "attempt_id", "pgid"):
        if attempt_group_members(attempt_id=attempt_id, pgid=pgid):
            log.warning(
                "killing process group %s of attempt %s's part %s: nobody supervises it", pgid, attempt_id, part_id
            )
            group_terminate(pgid=pgid, grace_seconds=settings.JOB_KILL_GRACE_SECONDS)
        attempt_part_gone(part_id=part_id)
        cleared.append(attempt_id)
    return cleared


def runnerless_groups_stop(*, nodes: frozenset[str] | None) -> list[int]:
    """The agent's check: stop the groups whose runner's worker is gone; record gone groups, then
    forget their files. Returns the attempts whose groups were stopped. Killing needs no database;
    recording waits for it (the file stays until then)."""
    stopped = []
    entries = runner_files(nodes=nodes)
    groups = process_groups() if entries else {}
    for entry in entries:
        alive = runner_alive(entry)
        if groups.get(entry.pgid) and alive:
            continue  # the usual case, every tick: its runner supervises it
        if alive and entry.part_id is not None:
            continue  # a part's process ended and its runner, alive, records how: never a loss
        members = attempt_group_members(attempt_id=entry.attempt_id, pgid=entry.pgid, groups=groups)
        if members:
            log.warning(
                "stopping process group %s of attempt %s: its worker (pid %s) is gone",
                entry.pgid,
                entry.attempt_id,
                entry.worker_pid,
            )
            group_terminate(pgid=entry.pgid, grace_seconds=settings.JOB_KILL_GRACE_SECONDS)
            stopped.append(entry.attempt_id)
        _record_and_forget(entry)
    return stopped


def _record_and_forget(entry: RunnerFile) -> None:
    try:
        if entry.part_id is None:
            processes_gone_record(entry.attempt_id)
        else:
            attempt_part_gone(part_id=entry.part_id)
    except DatabaseError:
        log.warning("could not record that attempt %s's processes are gone; trying again next tick", entry.attempt_id)
        connection.close()  # a broken connection reopens on the next try
        return
    entry.path.unlink(missing_ok=True)
