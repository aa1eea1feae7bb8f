"""Pipelines (docs/pipelines.md): a team's named pipeline and the history of its spec, each version
stored with the sha256 of its canonical JSON; its runs and their steps, which the advance loop
(training/services/pipeline_runs.py) moves forward."""

from django.conf import settings
from django.db import models


class Pipeline(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    # Whose rights a scheduled or triggered run has (a run by hand has its starter's).
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    last_version_number = models.PositiveIntegerField(default=0)  # numbers never reused, as the registry's
    # Triggers besides a hand: a new frozen version of this dataset, and a schedule (django-celery-beat's
    # periodic task, which sends training.pipeline_start_scheduled). Runs they start have the owner's rights.
    trigger_dataset = models.ForeignKey(
        "labeling.Dataset", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger_parameters = models.JSONField(default=dict, blank=True)
    schedule_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="pipeline_unique_name_per_team")]

    def __str__(self) -> str:
        return self.name


class PipelineSpecVersion(models.Model):
    """One saved spec of a pipeline; immutable (a run names the version it ran)."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64, db_index=True)  # sha256 of the document's canonical JSON
    document = models.JSONField()  # the parsed spec, what runs read
    source = models.TextField()  # the text as written (YAML comments and layout), what the editor shows
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pipeline_id", "-number"]
        constraints = [models.UniqueConstraint(fields=["pipeline", "number"], name="pipelinespec_unique_number")]

    def __str__(self) -> str:
        return f"{self.pipeline} v{self.number}"


class RunState(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


RUN_FINISHED_STATES = (RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED)


class PipelineRun(models.Model):
    """One run of one spec version: its parameters, whose rights its steps have, and how it ended."""

    class Trigger(models.TextChoices):
        HAND = "hand", "By hand"
        SCHEDULE = "schedule", "Schedule"
        DATASET = "dataset", "New dataset version"
        RERUN = "rerun", "Re-run from failure"

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="runs")
    spec_version = models.ForeignKey(PipelineSpecVersion, on_delete=models.PROTECT, related_name="runs")
    # Whose rights every step has, checked again when each step starts (docs/pipelines.md "Authority").
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.HAND)
    parameters = models.JSONField(default=dict, blank=True)  # typed, defaults filled
    use_cache = models.BooleanField(default=True)  # False: "run without cache" (every step runs)
    rerun_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Set when an advance is sent, cleared when one starts: a burst of job ends (a fan-in of 200 steps)
    # sends one advance, not 200 that each walk the whole run (training/services/pipeline_runs.py).
    advance_queued = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.RUNNING)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["state"], name="pipelinerun_state")]

    def __str__(self) -> str:
        return f"{self.pipeline} run {self.pk}"


class StepState(models.TextChoices):
    WAITING = "waiting", "Waiting"  # for its inputs, or for its retry's back-off
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    SKIPPED = "skipped", "Skipped"  # a step it depends on failed, or the run was cancelled first


STEP_FINISHED_STATES = (StepState.SUCCEEDED, StepState.FAILED, StepState.CANCELLED, StepState.SKIPPED)


class StepRun(models.Model):
    """A step of a run. Claimed by compare-and-set on `state` (waiting → running), so a duplicate advance
    never starts it twice; what it is waiting on is the job, export or pre-label run it points at."""

    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=63)
    type = models.CharField(max_length=32)
    state = models.CharField(max_length=10, choices=StepState.choices, default=StepState.WAITING)
    tries = models.PositiveSmallIntegerField(default=0)  # starts so far (1 + retries)
    retry_at = models.DateTimeField(null=True, blank=True)  # a waiting retry starts no earlier
    parameters = models.JSONField(default=dict, blank=True)  # run parameters substituted
    inputs = models.JSONField(default=dict, blank=True)  # the artifacts it took, as references
    outputs = models.JSONField(default=dict, blank=True)  # name → artifact reference with its sha256
    cache_key = models.CharField(max_length=64, blank=True, db_index=True)
    cache_parts = models.JSONField(default=dict, blank=True)  # what the key hashed, to say why it hit or missed
    cache_note = models.CharField(max_length=300, blank=True)
    cache_hit_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    cache_forgotten = models.BooleanField(default=False)  # "forget this cache entry": never reused again
    job = models.ForeignKey("scheduler.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    staging = models.ForeignKey(
        "training.InputStaging", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    export = models.ForeignKey("labeling.ExportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    prelabel_run = models.ForeignKey(
        "training.PrelabelRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error = models.TextField(blank=True)
    history = models.JSONField(default=list, blank=True)  # earlier tries: [{"job": id, "error": text}]
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="steprun_unique_name_per_run")]
        indexes = [models.Index(fields=["job"], name="steprun_job")]

    def __str__(self) -> str:
        return f"{self.run} · {self.name}"
