"""Run one node's part of an attempt across nodes (docs/jobs.md, "Jobs across nodes").

The part's worker claims it (holding this node's GPUs), waits until every part claimed, then starts
the command as its own process group with this node's GPUs and the rendezvous environment, and
supervises it as the single-node runner does: heartbeat, cancel, time limit, disk, database outage.
It also stops when another part ended without succeeding or the attempt ended (lost). Whatever ends
it, it records its part's end; the last part's end ends the attempt (scheduler.services.jobs).

Rank 0 copies its output into the attempt's log (the job page's log, as for a single-node job); the
other parts' output stays in their own files beside it, `attempt-<n>/output.part-<rank>.log`.
"""

import logging
import time
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections

from scheduler.execution.disk import disk_full_reason, log_file_cap
from scheduler.execution.environment import job_environment
from scheduler.execution.ownership import runner_file_remove, runner_file_write, supervising, worker_identity
from scheduler.execution.process import ATTEMPT_MARKER, JobProcess, exit_status, group_terminate, process_start
from scheduler.execution.rendezvous import free_port, rendezvous_environment
from scheduler.execution.runner import (
    AttemptNotOurs,
    DatabaseLink,
    Fenced,
    LogPump,
    Outcome,
    attempt_output_dir,
)
from scheduler.models import Attempt, AttemptPart, AttemptState
from scheduler.selectors.jobs import PartLaunch, attempt_part_launch, part_log_file
from scheduler.services.environments import environment_missing_reason
from scheduler.services.jobs import (
    attempt_part_claim,
    attempt_part_end,
    attempt_part_heartbeat,
    attempt_part_stop_request,
)

log = logging.getLogger(__name__)


def attempt_part_run(*, part_id: int) -> None:
    close_old_connections()
    identity = worker_identity()
    row = AttemptPart.objects.filter(pk=part_id).values_list("attempt_id", "rank").first()
    if row is None:
        return
    attempt_id, rank = row
    port = free_port() if rank == 0 else None
    if not attempt_part_claim(part_id=part_id, host=identity.host, worker=identity.instance, port=port):
        log.info("part %s already claimed or its attempt released: this delivery does nothing", part_id)
        return
    if not _every_part_claimed(attempt_id):
        log.info("attempt %s was released before all its parts claimed: part %s starts nothing", attempt_id, part_id)
        return
    with supervising(attempt_id):
        _run_claimed_part(part_id, worker=identity.instance)


def _every_part_claimed(attempt_id: int) -> bool:
    """Wait, holding this node's GPUs, until the attempt starts (True) or is released (False). The
    reaper releases it one claim timeout after it was sent; past two, this worker stops waiting."""
    deadline = time.monotonic() + 2 * settings.JOB_CLAIM_TIMEOUT
    while time.monotonic() < deadline:
        state = Attempt.objects.filter(pk=attempt_id).values_list("state", flat=True).first()
        if state == AttemptState.RUNNING:
            return True
        if state != AttemptState.QUEUED:
            return False
        time.sleep(settings.JOB_POLL_INTERVAL)
    return False


def _run_claimed_part(part_id: int, *, worker: str) -> None:
    part = AttemptPart.objects.select_related("attempt__job__environment", "node").get(pk=part_id)
    job = part.attempt.job
    try:
        data_root = Path(settings.JOB_DATA_ROOT)
        data_root.mkdir(parents=True, exist_ok=True)
        refusal = disk_full_reason(data_root) or environment_missing_reason(
            environment=job.environment, node=part.node.name
        )
        process = None if refusal else _start(part, attempt_part_launch(part_id=part_id))
    except OSError as exc:
        refusal = f"Could not start the command: {exc}"
    if refusal:
        attempt_part_end(part_id=part_id, worker=worker, state=AttemptState.FAILED, reason=refusal)
        return
    runner_file_write(attempt_id=part.attempt_id, node=part.node.name, pgid=process.pgid, part_id=part.pk)
    PartRunner(part=part, process=process, worker=worker).run()


def _start(part: AttemptPart, launch: PartLaunch) -> JobProcess:
    attempt, job = part.attempt, part.attempt.job
    outputs = attempt_output_dir(attempt)
    outputs.mkdir(parents=True, exist_ok=True)
    runtime = job.environment
    env = job_environment(
        job_variables=job.env,
        gpu_uuids=launch.gpu_uuids,
        output_dir=str(outputs),
        inputs=job.inputs,
        python_prefix=runtime.python_prefix if runtime else "",
        path_entries=runtime.extra_path if runtime else (),
    )
    env.update(
        rendezvous_environment(rendezvous=launch.rendezvous, node_rank=launch.rank, local_gpus=len(launch.gpu_uuids))
    )
    env[ATTEMPT_MARKER] = str(attempt.pk)
    return process_start(
        command=job.command,
        cwd=job.working_dir,
        env=env,
        log_path=part_log_file(attempt, part.rank),
        user=settings.JOB_RUN_AS_USER or None,
        kill_grace_seconds=settings.JOB_KILL_GRACE_SECONDS,
    )


class PartRunner:
    """Supervises one part's process group until it ends, and records how (the single-node Runner's
    loop, with the part's heartbeat and stop request)."""

    def __init__(self, *, part: AttemptPart, process: JobProcess, worker: str) -> None:
        self.part, self.process, self.worker = part, process, worker
        self.job = part.attempt.job
        self.pump = LogPump(attempt=part.attempt, path=process.log_path) if part.rank == 0 else None
        self.link = DatabaseLink()
        self.pgid_recorded = False
        self.last_heartbeat = time.monotonic()

    def run(self) -> None:
        try:
            self._run()
        finally:
            self.process.lifeline_cut()  # the group is stopped on every way out: its guard goes with it

    def _run(self) -> None:
        try:
            outcome = self._supervise()
        except AttemptNotOurs:
            self._stop_group()
            log.warning("part %s is no longer this runner's: its processes were stopped", self.part.pk)
            self._forget()
            return
        except Fenced:
            self._stop_group()  # the runner file stays: the node's agent records the part gone
            log.error("part %s: no database for the outage grace; its processes were stopped", self.part.pk)
            return
        except BaseException:
            self._stop_group()
            raise
        self._record_end(outcome)

    def _supervise(self) -> Outcome:
        deadline = time.monotonic() + self.job.time_limit_s
        data_root = Path(settings.JOB_DATA_ROOT)
        while True:
            returncode = self.process.popen.poll()
            log_file_cap(self.process.log_path)
            if returncode is not None:
                self._stop_group()
                if returncode == 0:
                    return Outcome(AttemptState.SUCCEEDED, "Exited with code 0.")
                code, signal_number = exit_status(returncode)
                reason = f"Exited with code {code}." if signal_number is None else f"Killed by signal {signal_number}."
                return Outcome(AttemptState.FAILED, reason)
            if time.monotonic() >= deadline:
                self._stop_group()
                return Outcome(AttemptState.TIMED_OUT, f"Reached its time limit of {self.job.time_limit_s} s.")
            if disk_full := disk_full_reason(data_root):
                self._stop_group()
                return Outcome(AttemptState.FAILED, disk_full)
            if self.link.due() and (stop := self._sync()):
                self._stop_group()
                return Outcome(AttemptState.CANCELLED, stop)
            if self.link.cut_off_for() > settings.JOB_DB_OUTAGE_GRACE:
                raise Fenced
            time.sleep(settings.JOB_POLL_INTERVAL)

    def _sync(self) -> str:
        stop = ""

        def round_trip() -> None:
            nonlocal stop
            if not self.pgid_recorded:
                AttemptPart.objects.filter(pk=self.part.pk).update(pid=self.process.pid, pgid=self.process.pgid)
                self.pgid_recorded = True
            if self.pump:
                self.pump.pump()
            request = attempt_part_stop_request(part_id=self.part.pk, worker=self.worker)
            if request is None:
                raise AttemptNotOurs(self.part.pk)
            stop = request
            if time.monotonic() - self.last_heartbeat >= settings.JOB_HEARTBEAT_INTERVAL:
                attempt_part_heartbeat(part_id=self.part.pk, worker=self.worker)
                self.last_heartbeat = time.monotonic()

        self.link.call(round_trip)
        return stop

    def _stop_group(self) -> None:
        group_terminate(pgid=self.process.pgid, grace_seconds=settings.JOB_KILL_GRACE_SECONDS, popen=self.process.popen)

    def _record_end(self, outcome: Outcome) -> None:
        ended = time.monotonic()
        code, signal_number = exit_status(self.process.popen.returncode)

        def record() -> None:
            if self.pump:
                self.pump.drain()
            attempt_part_end(
                part_id=self.part.pk,
                worker=self.worker,
                state=outcome.state,
                reason=outcome.reason,
                exit_code=code,
                signal_number=signal_number,
            )

        while not self.link.call(record):
            if time.monotonic() - ended > settings.JOB_DB_OUTAGE_GRACE:
                log.error("part %s ended (%s) but the database stayed unreachable", self.part.pk, outcome.state)
                return  # the runner file stays: the node's agent records the part gone
            time.sleep(max(0.0, self.link.next_try - time.monotonic()))
        self._forget()

    def _forget(self) -> None:
        runner_file_remove(self.part.attempt_id, part_id=self.part.pk)
