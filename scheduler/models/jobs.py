"""Jobs and their attempts (docs/decisions.md §6). The database is the source of truth for every state."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from scheduler.models.bookings import Booking
from scheduler.models.environments import RuntimeEnvironment
from scheduler.models.fleet import Gpu, Node


class JobState(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    TIMED_OUT = "timed_out", "Timed out"


JOB_FINAL_STATES = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.TIMED_OUT)


class AttemptState(models.TextChoices):
    QUEUED = "queued", "Queued"  # placed, task enqueued, not yet claimed by a worker
    RUNNING = "running", "Running"  # claimed by compare-and-set
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    TIMED_OUT = "timed_out", "Timed out"
    LOST = "lost", "Lost"


ATTEMPT_LIVE_STATES = (AttemptState.QUEUED, AttemptState.RUNNING)


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"


class Job(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs")
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="jobs")
    name = models.CharField(max_length=200)
    command = models.TextField()
    working_dir = models.CharField(max_length=1000)
    env = models.JSONField(default=dict, blank=True)
    gpus = models.PositiveSmallIntegerField()
    gpu_model = models.CharField(max_length=100, blank=True)
    min_memory_mb = models.PositiveIntegerField(default=0)
    multi_node = models.BooleanField(default=False)
    time_limit_s = models.PositiveIntegerField()
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    preemptible = models.BooleanField(default=False)
    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.PROTECT, related_name="jobs")
    labels = models.JSONField(default=dict, blank=True)
    # Opaque references to what the job reads, e.g. {"dataset": "dataset:12@v3"} (no foreign key: docs/decisions.md §1).
    inputs = models.JSONField(default=dict, blank=True)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    # Where `python` resolves; null for jobs from before environments existed (the worker's PATH).
    environment = models.ForeignKey(
        RuntimeEnvironment, null=True, blank=True, on_delete=models.PROTECT, related_name="jobs"
    )

    state = models.CharField(max_length=20, choices=JobState.choices, default=JobState.PENDING)
    state_reason = models.CharField(max_length=500, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # Why the cancel was asked for, when not simply by a person ("GPU drained by admin: PSU swap");
    # the runner ends the attempt with it. Empty: "Cancelled."
    cancel_reason = models.CharField(max_length=500, blank=True)
    submitted_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Written by each scheduling pass for pending jobs: what the Jobs pages show.
    queue_position = models.PositiveIntegerField(null=True, blank=True)
    pending_reason = models.CharField(max_length=500, blank=True)
    estimated_start = models.DateTimeField(null=True, blank=True)
    # Its user's fair-share factor in (0, 1] at that pass (docs/scheduling.md): 1 is an unused share.
    fair_share_factor = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["state", "submitted_at"]), models.Index(fields=["team", "state"])]

    def __str__(self) -> str:
        return f"Job {self.pk} {self.name}"

    @property
    def run_time(self):
        """How long it has run: from its start to its end, or to now while it runs; None before it starts."""
        if self.started_at is None:
            return None
        return (self.ended_at or timezone.now()) - self.started_at


PEAK_FROM_PROCESSES = "processes"
PEAK_FROM_WHOLE_GPU = "whole_gpu"


class Attempt(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=20, choices=AttemptState.choices, default=AttemptState.QUEUED)
    reason = models.CharField(max_length=500, blank=True)
    node = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="attempts")
    gpus = models.ManyToManyField(Gpu, through="JobAllocation", related_name="attempts")
    host = models.CharField(max_length=255, blank=True)
    # The worker process that claimed it ("<host>:<pid>:<random>"): a runner goes on only while the
    # attempt is running *and* still its own (docs/decisions.md §11: owned per node and worker instance).
    worker = models.CharField(max_length=255, blank=True)
    pid = models.IntegerField(null=True, blank=True)
    pgid = models.IntegerField(null=True, blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    signal = models.IntegerField(null=True, blank=True)
    gpu_seconds = models.FloatField(default=0)
    peak_memory_mb = models.PositiveIntegerField(null=True, blank=True)
    # The most GPU memory the attempt's own processes held at once (NVML per-PID, summed per tick by
    # the agent); peak_memory_mb is taken from it at the end, or from whole-GPU samples without it.
    process_memory_peak_mb = models.PositiveIntegerField(null=True, blank=True)
    # Set once this attempt's process group is known to be gone from its host (killed by the node's
    # worker, or ended normally). A lost attempt's job is requeued only after this (docs/decisions.md §6).
    processes_gone_at = models.DateTimeField(null=True, blank=True)
    # Set by a scheduling pass to take GPUs back for a team's guarantee: the runner stops the attempt
    # and the job is requeued; preemptions do not count toward the attempt limit (docs/decisions.md §6).
    preempt_requested_at = models.DateTimeField(null=True, blank=True)
    log_size = models.BigIntegerField(default=0)
    log_truncated = models.BooleanField(default=False)

    @property
    def peak_memory_source(self) -> str | None:
        """Where peak_memory_mb came from: the attempt's own processes (NVML per-PID), or the whole
        GPU's memory from the samples where NVML gives no per-process figure (MIG); None when n/a."""
        if self.peak_memory_mb is None:
            return None
        return PEAK_FROM_PROCESSES if self.process_memory_peak_mb is not None else PEAK_FROM_WHOLE_GPU

    class Meta:
        ordering = ["job", "number"]
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="attempt_number_unique"),
            # Never two live attempts of one job (docs/decisions.md §6), enforced by a partial unique index.
            models.UniqueConstraint(
                fields=["job"], condition=Q(state__in=["queued", "running"]), name="one_live_attempt_per_job"
            ),
        ]
        indexes = [models.Index(fields=["state", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"Job {self.job_id} attempt {self.number}"


class AttemptPartState(models.TextChoices):
    QUEUED = "queued", "Queued"  # its runner task sent to the part's node, not yet claimed there
    CLAIMED = "claimed", "Claimed"  # a worker on its node holds its GPUs and waits for the other parts
    RUNNING = "running", "Running"  # every part claimed: its process group started
    ENDED = "ended", "Ended"


class AttemptPart(models.Model):
    """One node's share of an attempt whose GPUs span nodes: one process group on that node, under
    that node's worker, with that node's GPUs (docs/jobs.md, "Jobs across nodes").

    A single-node attempt has no parts: the attempt row itself records its node, host, worker,
    process group and heartbeat, as it always has. Rank 0's host is the rendezvous address
    (MASTER_ADDR) and its worker chooses the attempt's free port when it claims."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="parts")
    rank = models.PositiveSmallIntegerField()
    node = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="attempt_parts")
    state = models.CharField(max_length=20, choices=AttemptPartState.choices, default=AttemptPartState.QUEUED)
    host = models.CharField(max_length=255, blank=True)
    worker = models.CharField(max_length=255, blank=True)
    pid = models.IntegerField(null=True, blank=True)
    pgid = models.IntegerField(null=True, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)  # rank 0 only: MASTER_PORT
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    signal = models.IntegerField(null=True, blank=True)
    # How its process group ended (an attempt state: succeeded, failed, cancelled, timed_out) and why;
    # the attempt ends once every part ended, with the first part's outcome that was not a success.
    outcome = models.CharField(max_length=20, choices=AttemptState.choices, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["attempt", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "rank"], name="attempt_part_rank_unique"),
            models.UniqueConstraint(fields=["attempt", "node"], name="attempt_part_node_unique"),
        ]

    def __str__(self) -> str:
        return f"Job {self.attempt.job_id} attempt {self.attempt.number} part {self.rank}"


class JobAllocation(models.Model):
    """One GPU of an attempt over [start, end). `end` is start + time limit while it runs and the
    actual end after; rows never overlap on one GPU (exclusion constraint on PostgreSQL)."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="allocations")
    gpu = models.ForeignKey(Gpu, on_delete=models.PROTECT, related_name="allocations")
    start = models.DateTimeField()
    end = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="allocation_end_after_start")]
        indexes = [models.Index(fields=["gpu", "end"])]


class LogChunk(models.Model):
    """Bytes of an attempt's output, keyed by their byte offset in the log (docs/decisions.md §6)."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="log_chunks")
    offset = models.BigIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["attempt", "offset"], name="log_chunk_offset_unique")]
        ordering = ["attempt", "offset"]
