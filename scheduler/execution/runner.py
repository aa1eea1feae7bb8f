"""Run one attempt on this node: claim it, start its process group, stream its log into the
database, heartbeat, honour cancel and the time limit, and record how it ended.

Delivery-safe (docs/decisions.md §11): a second delivery of the task (a redelivery, a duplicate message, the
claim timeout's re-enqueue) loses the compare-and-set claim and returns without touching anything;
only the delivery that claimed registers as this worker's runner. The database, not the broker,
decides what runs, and the runner goes on only while its attempt is running *and* still its own.

Outage-proof: the log is on disk first (output.log, copied by offset), so every database call of the
supervision loop is retried with back-off while the job keeps running. A runner cut off from the
database for ATELIER_JOB_DB_OUTAGE_GRACE stops its job itself (fencing): by then the reaper may have
judged the attempt lost, and the job must never run twice at once. A runner that reconnects and finds
its attempt no longer its own stops its processes and records nothing about the outcome.
"""

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, close_old_connections, connection
from django.utils import timezone

from portal.realtime.services import event_publish
from scheduler.execution.disk import TRUNCATION_MARKER, disk_full_reason, log_file_cap
from scheduler.execution.environment import job_environment
from scheduler.execution.isolation import job_folder_close, job_folder_open
from scheduler.execution.orphans import processes_gone_record
from scheduler.execution.ownership import runner_file_remove, runner_file_write, supervising, worker_identity
from scheduler.execution.process import ATTEMPT_MARKER, JobProcess, exit_status, group_terminate, process_start
from scheduler.execution.utf8 import whole_characters
from scheduler.models import Attempt, AttemptState, Job, LogChunk
from scheduler.services.environments import environment_missing_reason
from scheduler.services.jobs import attempt_claim, attempt_finish

log = logging.getLogger(__name__)

# What a lost connection raises (server restarted, connection cut, "database is locked" on SQLite).
DATABASE_UNREACHABLE = (OperationalError, InterfaceError)


def attempt_dir(attempt: Attempt) -> Path:
    return Path(settings.JOB_DATA_ROOT) / f"job-{attempt.job_id}" / f"attempt-{attempt.number}"


def attempt_output_dir(attempt: Attempt) -> Path:
    return Path(settings.JOB_DATA_ROOT) / f"job-{attempt.job_id}" / "outputs"


@dataclass
class LogPump:
    """Copies new bytes of the log file into LogChunk rows, up to the cap, and publishes them.

    Safe to call again after a database error: the offset moves only once a chunk is stored, and a
    chunk whose insert committed but whose answer was lost is found by its (attempt, offset) key."""

    attempt: Attempt
    path: Path
    offset: int = 0
    truncated: bool = False

    def pump(self, *, final: bool = False) -> None:
        """Store the next chunk. While the job runs a chunk ends between characters (the rest of a
        cut one comes with the next), so each chunk's event decodes whole and its byte offsets match
        what the page shows; `final` (the job has ended) stores whatever is left."""
        if self.truncated or not self.path.exists():
            return
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read(settings.JOB_LOG_CHUNK_BYTES)
        if not data:
            return
        room = settings.JOB_LOG_CAP_BYTES - self.offset
        truncated = len(data) >= room
        if truncated:
            data = data[:room] + TRUNCATION_MARKER
        elif not final:
            data = whole_characters(data)
        if data:
            self._store(data, truncated=truncated)

    def drain(self) -> None:
        before = -1
        while self.offset != before:
            before = self.offset
            self.pump(final=True)

    def _store(self, data: bytes, *, truncated: bool) -> None:
        try:
            LogChunk.objects.create(attempt=self.attempt, offset=self.offset, data=data)
        except IntegrityError:
            data = bytes(
                LogChunk.objects.filter(attempt=self.attempt, offset=self.offset).values_list("data", flat=True).get()
            )
        start, self.offset, self.truncated = self.offset, self.offset + len(data), truncated
        Attempt.objects.filter(pk=self.attempt.pk).update(log_size=self.offset, log_truncated=self.truncated)
        event_publish(
            topic=f"job.{self.attempt.job_id}",
            kind="job.log",
            payload={
                "attempt": self.attempt.number,
                "offset": start,
                "end": self.offset,  # bytes, not the text's length: bytes the job wrote invalid turn into marks
                "text": data.decode("utf-8", "replace"),
            },
        )


class AttemptNotOurs(Exception):
    """The attempt's row is gone (its job was deleted), or it is no longer running under this worker
    (judged lost while the runner was cut off, then requeued): stop, record nothing."""


class Fenced(Exception):
    """The runner has been without the database for the outage grace: it stops its job itself."""


@dataclass
class DatabaseLink:
    """Database calls that an outage delays but never breaks: after a failure the next try waits
    (poll interval, doubling, at most the heartbeat interval, so a returning database hears from the
    runner well within a heartbeat TTL); `cut_off_for` says how long the runner has been without it."""

    last_ok: float = field(default_factory=time.monotonic)
    next_try: float = 0.0
    backoff: float = 0.0

    def due(self) -> bool:
        return time.monotonic() >= self.next_try

    def call(self, operation) -> bool:
        try:
            operation()
        except DATABASE_UNREACHABLE as exc:
            self._failed(exc)
            return False
        if self.backoff:
            log.warning("database reachable again after %.1f s; the job went on", self.cut_off_for())
        self.last_ok, self.backoff, self.next_try = time.monotonic(), 0.0, 0.0
        return True

    def cut_off_for(self) -> float:
        return time.monotonic() - self.last_ok

    def _failed(self, exc: Exception) -> None:
        if not self.backoff:
            log.warning("database unreachable (%s); the job goes on, trying again with back-off", exc)
        try:
            connection.close()  # a broken connection is opened anew on the next try
        except Exception:
            pass
        self.backoff = min(max(self.backoff * 2, settings.JOB_POLL_INTERVAL), settings.JOB_HEARTBEAT_INTERVAL)
        self.next_try = time.monotonic() + self.backoff


def attempt_run(*, attempt_id: int) -> None:
    close_old_connections()
    identity = worker_identity()
    if not attempt_claim(attempt_id=attempt_id, host=identity.host, worker=identity.instance):
        log.info("attempt %s already claimed or ended: this delivery does nothing", attempt_id)
        return
    # Registered only now: a delivery that claimed nothing never touches the runner that did.
    with supervising(attempt_id):
        _run_claimed(attempt_id, worker=identity.instance)


def _run_claimed(attempt_id: int, *, worker: str) -> None:
    attempt = Attempt.objects.select_related("job__environment", "node").get(pk=attempt_id)
    job = attempt.job
    try:
        refusal = _disk_full_reason() or environment_missing_reason(environment=job.environment, node=attempt.node.name)
        process = None if refusal else _start(attempt, job)
    except OSError as exc:
        refusal = f"Could not start the command: {exc}"
    if refusal:
        Attempt.objects.filter(pk=attempt.pk).update(processes_gone_at=timezone.now())
        attempt_finish(attempt=attempt, state=AttemptState.FAILED, reason=refusal)
        return
    runner_file_write(attempt_id=attempt.pk, node=attempt.node.name, pgid=process.pgid)
    Runner(attempt=attempt, job=job, process=process, worker=worker).run()


def _disk_full_reason() -> str:
    Path(settings.JOB_DATA_ROOT).mkdir(parents=True, exist_ok=True)
    return disk_full_reason(Path(settings.JOB_DATA_ROOT))


def _run_as_user() -> str | None:
    return settings.JOB_RUN_AS_USER or None


def _start(attempt: Attempt, job: Job) -> JobProcess:
    workdir = attempt_dir(attempt)
    outputs = attempt_output_dir(attempt)
    outputs.mkdir(parents=True, exist_ok=True)
    if user := _run_as_user():
        job_folder_open(
            data_root=Path(settings.JOB_DATA_ROOT),
            job_dir=outputs.parent,
            attempt_dir=workdir,
            outputs=outputs,
            user=user,
        )
    gpu_uuids = list(attempt.allocations.order_by("gpu__index").values_list("gpu__uuid", flat=True))
    runtime = job.environment
    env = job_environment(
        job_variables=job.env,
        gpu_uuids=gpu_uuids,
        output_dir=str(outputs),
        inputs=job.inputs,
        python_prefix=runtime.python_prefix if runtime else "",
        path_entries=runtime.extra_path if runtime else (),
    )
    env[ATTEMPT_MARKER] = str(attempt.pk)  # lets a later worker or the agent tell this attempt's processes apart
    try:
        return process_start(
            command=job.command,
            cwd=job.working_dir,
            env=env,
            log_path=workdir / "output.log",
            user=_run_as_user(),
            kill_grace_seconds=settings.JOB_KILL_GRACE_SECONDS,
        )
    except OSError:
        if _run_as_user():
            job_folder_close(job_dir=outputs.parent, outputs=outputs)  # nothing started: nothing keeps them
        raise


@dataclass
class Outcome:
    state: str
    reason: str


class Runner:
    """Supervises one claimed attempt's process group until it ends, and records how."""

    def __init__(self, *, attempt: Attempt, job: Job, process: JobProcess, worker: str) -> None:
        self.attempt, self.job, self.process, self.worker = attempt, job, process, worker
        self.pump = LogPump(attempt=attempt, path=process.log_path)
        self.link = DatabaseLink()
        self.pgid_recorded = False
        self.last_heartbeat = time.monotonic()  # the claim wrote the first one

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
            log.warning(
                "attempt %s is no longer this runner's (lost, requeued or deleted): its processes were stopped",
                self.attempt.pk,
            )
            if self.link.call(lambda: processes_gone_record(self.attempt.pk)):
                runner_file_remove(self.attempt.pk)
            return
        except Fenced:
            self._stop_group()  # the runner file stays: the node's agent records the group gone
            log.error(
                "attempt %s: no database for %.0f s (ATELIER_JOB_DB_OUTAGE_GRACE); its job was stopped",
                self.attempt.pk,
                self.link.cut_off_for(),
            )
            return
        except BaseException:
            self._stop_group()  # nothing runs unsupervised after a runner error
            self._close_folder()
            raise
        self._close_folder()  # before the end is recorded: whoever sees it ended finds the outputs closed
        self._record_end(outcome)

    # -- while the job runs -----------------------------------------------------------------------
    def _supervise(self) -> Outcome:
        """Watch until the process ends, the time limit passes or a stop is asked for."""
        deadline = time.monotonic() + self.job.time_limit_s
        while True:
            returncode = self.process.popen.poll()
            log_file_cap(self.process.log_path)  # after poll(): a job that just ended is capped too
            if returncode is not None:
                self._stop_group()  # whatever the leader left behind in its group
                if returncode == 0:
                    return Outcome(AttemptState.SUCCEEDED, "Exited with code 0.")
                # A job that died of a full disk (its write failed first) is told so, not only its exit code.
                disk_full = disk_full_reason(Path(settings.JOB_DATA_ROOT))
                return Outcome(AttemptState.FAILED, " ".join(filter(None, [_exit_reason(returncode), disk_full])))
            if time.monotonic() >= deadline:
                self._stop_group()
                return Outcome(AttemptState.TIMED_OUT, f"Reached its time limit of {self.job.time_limit_s} s.")
            if disk_full := disk_full_reason(Path(settings.JOB_DATA_ROOT)):
                self._stop_group()
                return Outcome(AttemptState.FAILED, disk_full)
            if self.link.due():
                stop = self._sync()
                if stop:
                    self._stop_group()
                    return Outcome(AttemptState.CANCELLED, stop)
            if self.link.cut_off_for() > settings.JOB_DB_OUTAGE_GRACE:
                raise Fenced
            time.sleep(settings.JOB_POLL_INTERVAL)

    def _sync(self) -> str:
        """One round with the database: record the process group, copy the log, check the attempt is
        still ours and whether to stop, heartbeat. Why to stop, or "" (also while unreachable)."""
        stop = ""

        def round_trip() -> None:
            nonlocal stop
            if not self.pgid_recorded:
                Attempt.objects.filter(pk=self.attempt.pk).update(pid=self.process.pid, pgid=self.process.pgid)
                self.pgid_recorded = True
            self.pump.pump()
            stop = self._stop_request()
            if time.monotonic() - self.last_heartbeat >= settings.JOB_HEARTBEAT_INTERVAL:
                self._heartbeat()

        self.link.call(round_trip)
        return stop

    def _stop_request(self) -> str:
        return attempt_stop_request(attempt_id=self.attempt.pk, worker=self.worker)

    def _heartbeat(self) -> None:
        beat = Attempt.objects.filter(pk=self.attempt.pk, state=AttemptState.RUNNING, worker=self.worker).update(
            heartbeat_at=timezone.now()
        )
        if not beat:
            raise AttemptNotOurs(self.attempt.pk)
        self.last_heartbeat = time.monotonic()

    def _stop_group(self) -> None:
        group_terminate(pgid=self.process.pgid, grace_seconds=settings.JOB_KILL_GRACE_SECONDS, popen=self.process.popen)

    def _close_folder(self) -> None:
        """The outputs back from the job's account, once nothing of the attempt runs. Not when the
        attempt is no longer ours (AttemptNotOurs, Fenced): its next attempt may already write there."""
        if not _run_as_user():
            return
        outputs = attempt_output_dir(self.attempt)
        try:
            job_folder_close(job_dir=outputs.parent, outputs=outputs)
        except OSError:
            log.exception("attempt %s: could not hand its outputs back to the portal's account", self.attempt.pk)

    # -- once it has ended ------------------------------------------------------------------------
    def _record_end(self, outcome: Outcome) -> None:
        """The rest of the log, the group gone and the outcome, retried until the database takes them
        (the reaper waits a full TTL after an outage before judging, and hears from us first)."""
        ended = time.monotonic()
        code, signal_number = exit_status(self.process.popen.returncode)
        runtime = (timezone.now() - self.attempt.started_at).total_seconds() if self.attempt.started_at else 0.0

        def record() -> None:
            self.pump.drain()
            processes_gone_record(self.attempt.pk)
            attempt_finish(
                attempt=self.attempt,
                state=outcome.state,
                reason=outcome.reason,
                exit_code=code,
                signal_number=signal_number,
                gpu_seconds=runtime * self.job.gpus,
            )

        while not self.link.call(record):
            if time.monotonic() - ended > settings.JOB_DB_OUTAGE_GRACE:
                log.error(
                    "attempt %s ended (%s) but the database stayed unreachable; the reaper will judge it",
                    self.attempt.pk,
                    outcome.state,
                )
                return  # the runner file stays: the agent records the group gone
            time.sleep(max(0.0, self.link.next_try - time.monotonic()))
        runner_file_remove(self.attempt.pk)


def attempt_stop_request(*, attempt_id: int, worker: str) -> str:
    """Why the runner `worker` should stop the attempt now (a cancel, or a preemption by the
    scheduler), or "" to go on; AttemptNotOurs when it is not running under that worker. One query."""
    row = (
        Attempt.objects.filter(pk=attempt_id)
        .values_list("state", "worker", "job__cancel_requested_at", "job__cancel_reason", "preempt_requested_at")
        .first()
    )
    if row is None or row[0] != AttemptState.RUNNING or row[1] != worker:
        raise AttemptNotOurs(attempt_id)
    _, _, cancel, cancel_reason, preempt = row
    if cancel:
        return cancel_reason or "Cancelled."
    return "preempted to return GPUs to a team's guaranteed share" if preempt else ""


def _exit_reason(returncode: int) -> str:
    code, signal_number = exit_status(returncode)
    return f"Exited with code {code}." if signal_number is None else f"Killed by signal {signal_number}."
