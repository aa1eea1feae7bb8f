"""Run one attempt on this node: claim it, start its process group, stream its log into the
database, heartbeat, honour cancel and the time limit, and record how it ended.

Celery may deliver the task twice (acks late): the claim is a compare-and-set, so a second
delivery returns at once. The database, not the broker, decides what runs.
"""
import logging
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from portal.realtime.services import event_publish
from scheduler.execution.environment import job_environment
from scheduler.execution.orphans import ATTEMPT_MARKER, runner_register, runner_unregister
from scheduler.execution.process import JobProcess, exit_status, group_terminate, process_start
from scheduler.models import Attempt, AttemptState, Job, LogChunk
from scheduler.services.jobs import attempt_claim, attempt_finish

log = logging.getLogger(__name__)

TRUNCATION_MARKER = b"\n[atelier] log truncated: this attempt wrote more than the per-attempt limit.\n"


def attempt_dir(attempt: Attempt) -> Path:
    return Path(settings.JOB_DATA_ROOT) / f"job-{attempt.job_id}" / f"attempt-{attempt.number}"


def attempt_output_dir(attempt: Attempt) -> Path:
    return Path(settings.JOB_DATA_ROOT) / f"job-{attempt.job_id}" / "outputs"


@dataclass
class LogPump:
    """Copies new bytes of the log file into LogChunk rows, up to the cap, and publishes them."""

    attempt: Attempt
    path: Path
    offset: int = 0
    truncated: bool = False
    pending: bytes = field(default=b"", repr=False)

    def pump(self) -> None:
        if self.truncated or not self.path.exists():
            return
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read(settings.JOB_LOG_CHUNK_BYTES)
        if not data:
            return
        room = settings.JOB_LOG_CAP_BYTES - self.offset
        if len(data) >= room:
            data, self.truncated = data[:room] + TRUNCATION_MARKER, True
        self._store(data)

    def _store(self, data: bytes) -> None:
        LogChunk.objects.create(attempt=self.attempt, offset=self.offset, data=data)
        self.offset += len(data)
        Attempt.objects.filter(pk=self.attempt.pk).update(log_size=self.offset, log_truncated=self.truncated)
        event_publish(
            topic=f"job.{self.attempt.job_id}",
            kind="job.log",
            payload={"attempt": self.attempt.number, "offset": self.offset - len(data), "text": data.decode("utf-8", "replace")},
        )


def attempt_run(*, attempt_id: int) -> None:
    close_old_connections()
    # Registered before the claim: this worker's orphan check must never kill what it is starting.
    runner_register(attempt_id)
    try:
        if not attempt_claim(attempt_id=attempt_id, host=socket.gethostname()):
            log.info("attempt %s already claimed or ended: this delivery does nothing", attempt_id)
            return
        _run_claimed(attempt_id)
    finally:
        runner_unregister(attempt_id)


class AttemptVanished(Exception):
    """The attempt's row was deleted while it ran (its job was deleted): stop, record nothing."""


def _run_claimed(attempt_id: int) -> None:
    attempt = Attempt.objects.select_related("job", "node").get(pk=attempt_id)
    job = attempt.job
    try:
        process = _start(attempt, job)
    except OSError as exc:
        Attempt.objects.filter(pk=attempt.pk).update(processes_gone_at=timezone.now())
        attempt_finish(attempt=attempt, state=AttemptState.FAILED, reason=f"Could not start the command: {exc}")
        return
    Attempt.objects.filter(pk=attempt.pk).update(pid=process.pid, pgid=process.pgid)
    try:
        state, reason = _supervise(attempt, job, process)
    except AttemptVanished:
        group_terminate(pgid=process.pgid, grace_seconds=settings.JOB_KILL_GRACE_SECONDS, popen=process.popen)
        log.warning("attempt %s was deleted while running; its processes were stopped", attempt_id)
        return
    code, signal_number = exit_status(process.popen.returncode)
    runtime = (timezone.now() - attempt.started_at).total_seconds() if attempt.started_at else 0.0
    Attempt.objects.filter(pk=attempt.pk).update(processes_gone_at=timezone.now())
    attempt_finish(
        attempt=attempt, state=state, reason=reason, exit_code=code, signal_number=signal_number,
        gpu_seconds=runtime * job.gpus,
    )


def _start(attempt: Attempt, job: Job) -> JobProcess:
    workdir = attempt_dir(attempt)
    outputs = attempt_output_dir(attempt)
    outputs.mkdir(parents=True, exist_ok=True)
    gpu_uuids = list(attempt.allocations.order_by("gpu__index").values_list("gpu__uuid", flat=True))
    env = job_environment(job_variables=job.env, gpu_uuids=gpu_uuids, output_dir=str(outputs), inputs=job.inputs)
    env[ATTEMPT_MARKER] = str(attempt.pk)  # lets a later worker tell this attempt's processes apart
    return process_start(command=job.command, cwd=job.working_dir, env=env, log_path=workdir / "output.log", user=settings.JOB_RUN_AS_USER or None)


def _supervise(attempt: Attempt, job: Job, process: JobProcess) -> tuple[str, str]:
    """Watch until the process ends, the time limit passes or a cancel arrives; return the outcome."""
    pump = LogPump(attempt=attempt, path=process.log_path)
    deadline = time.monotonic() + job.time_limit_s
    last_heartbeat = time.monotonic()
    while True:
        pump.pump()
        if process.popen.poll() is not None:
            group_terminate(pgid=process.pgid, grace_seconds=settings.JOB_KILL_GRACE_SECONDS, popen=process.popen)
            _drain(pump)
            code = process.popen.returncode
            return (AttemptState.SUCCEEDED, "Exited with code 0.") if code == 0 else (AttemptState.FAILED, _exit_reason(code))
        stop = _stop_request(attempt)
        if stop:
            return _stop(process, pump, AttemptState.CANCELLED, stop)
        if time.monotonic() >= deadline:
            return _stop(process, pump, AttemptState.TIMED_OUT, f"Reached its time limit of {job.time_limit_s} s.")
        if time.monotonic() - last_heartbeat >= settings.JOB_HEARTBEAT_INTERVAL:
            Attempt.objects.filter(pk=attempt.pk).update(heartbeat_at=timezone.now())
            last_heartbeat = time.monotonic()
        time.sleep(settings.JOB_POLL_INTERVAL)


def _stop_request(attempt: Attempt) -> str:
    """Why to stop now (a cancel, or a preemption by the scheduler), or "" to go on. One query."""
    row = Attempt.objects.filter(pk=attempt.pk).values_list("job__cancel_requested_at", "job__cancel_reason", "preempt_requested_at").first()
    if row is None:
        raise AttemptVanished(attempt.pk)
    cancel, cancel_reason, preempt = row
    if cancel:
        return cancel_reason or "Cancelled."
    return "preempted to return GPUs to a team's guaranteed share" if preempt else ""


def _stop(process: JobProcess, pump: LogPump, state: str, reason: str) -> tuple[str, str]:
    group_terminate(pgid=process.pgid, grace_seconds=settings.JOB_KILL_GRACE_SECONDS, popen=process.popen)
    _drain(pump)
    return state, reason


def _drain(pump: LogPump) -> None:
    before = -1
    while pump.offset != before:
        before = pump.offset
        pump.pump()


def _exit_reason(returncode: int) -> str:
    code, signal_number = exit_status(returncode)
    return f"Exited with code {code}." if signal_number is None else f"Killed by signal {signal_number}."
