"""GPU telemetry: raw samples, 1-minute and 1-hour rollups, and process sightings with attribution.

Retention (settings TELEMETRY_*_RETENTION) is applied by beat tasks: raw 48 h, 1-minute 30 days,
1-hour kept, by default. Rollups keep the counts behind their means so hours are built from minutes
exactly (scheduler.gpu.rollups).
"""

from django.db import models

from scheduler.models.fleet import Gpu


class GpuSample(models.Model):
    """One raw reading of one GPU. None is "n/a" for that field."""

    gpu = models.ForeignKey(Gpu, on_delete=models.CASCADE, related_name="samples")
    at = models.DateTimeField()
    util_gpu_pct = models.SmallIntegerField(null=True, blank=True)
    util_memory_pct = models.SmallIntegerField(null=True, blank=True)
    memory_used_mb = models.IntegerField(null=True, blank=True)
    temperature_c = models.SmallIntegerField(null=True, blank=True)
    power_w = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["gpu", "at"]), models.Index(fields=["at"])]


class RollupWidth(models.IntegerChoices):
    MINUTE = 60, "1 minute"
    HOUR = 3600, "1 hour"


class GpuRollup(models.Model):
    """Aggregates of one GPU over [start, start + width), epoch-aligned in UTC."""

    gpu = models.ForeignKey(Gpu, on_delete=models.CASCADE, related_name="rollups")
    width_s = models.PositiveIntegerField(choices=RollupWidth.choices)
    start = models.DateTimeField()
    samples = models.PositiveIntegerField()
    util_count = models.PositiveIntegerField(default=0)
    util_mean = models.FloatField(null=True, blank=True)
    util_max = models.FloatField(null=True, blank=True)
    memory_max_mb = models.IntegerField(null=True, blank=True)
    power_count = models.PositiveIntegerField(default=0)
    power_mean = models.FloatField(null=True, blank=True)
    temperature_max_c = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["gpu", "width_s", "start"], name="rollup_one_per_bucket")]
        indexes = [models.Index(fields=["width_s", "start"])]


class ProcessSnapshot(models.Model):
    """A process seen on a GPU, with its owner: the job attempt id, or "unknown".

    Written when a (pid, owner) first appears on a GPU, not every tick: the history of who ran
    where without a row per process per second.
    """

    gpu = models.ForeignKey(Gpu, on_delete=models.CASCADE, related_name="process_snapshots")
    at = models.DateTimeField()
    pid = models.IntegerField()
    used_memory_mb = models.IntegerField(null=True, blank=True)
    owner = models.CharField(max_length=64, help_text='job attempt id, or "unknown"')
    rogue_reason = models.CharField(max_length=20, blank=True, help_text="unowned, wrong_gpu, or empty")

    class Meta:
        indexes = [models.Index(fields=["gpu", "at"]), models.Index(fields=["at"])]
