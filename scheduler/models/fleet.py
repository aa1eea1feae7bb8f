"""The GPU inventory: nodes and their GPUs, as the node agents report them."""

from django.db import models


class Node(models.Model):
    """A GPU host. It is up while its agent's heartbeat is fresh (see scheduler.selectors.fleet)."""

    name = models.CharField(max_length=100, unique=True)
    hostname = models.CharField(max_length=255, blank=True)
    backend = models.CharField(max_length=20, help_text="nvml or simulated")
    simulated = models.BooleanField(default=False)
    driver_version = models.CharField(max_length=50, blank=True)
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    drained = models.BooleanField(default=False)
    drain_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Why the last reading could not enumerate GPUs (driver gone, say); empty when it could.
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GpuState(models.TextChoices):
    AVAILABLE = "available", "Available"
    DRAINED = "drained", "Drained"
    LOST = "lost", "Lost"


class Gpu(models.Model):
    """One GPU. A GPU that vanishes from its node's reading becomes lost; it is never deleted,
    because bookings, jobs and telemetry refer to it."""

    node = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="gpus")
    index = models.PositiveSmallIntegerField()
    uuid = models.CharField(max_length=100, unique=True)
    model = models.CharField(max_length=100)
    memory_total_mb = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=20, choices=GpuState.choices, default=GpuState.AVAILABLE)
    drain_reason = models.CharField(max_length=500, blank=True)
    mig_mode = models.BooleanField(null=True, blank=True)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    # The current reading, written by the agent every tick so the board reads one row per GPU.
    # None is "n/a" (NVML NotSupported), never zero.
    reading_at = models.DateTimeField(null=True, blank=True)
    util_gpu_pct = models.SmallIntegerField(null=True, blank=True)
    util_memory_pct = models.SmallIntegerField(null=True, blank=True)
    memory_used_mb = models.IntegerField(null=True, blank=True)
    temperature_c = models.SmallIntegerField(null=True, blank=True)
    power_w = models.FloatField(null=True, blank=True)
    power_limit_w = models.FloatField(null=True, blank=True)
    fan_speed_pct = models.SmallIntegerField(null=True, blank=True)
    # [{"pid", "mem", "owner", "rogue", "job", "user"}] (owner: attempt id or "unknown"; job, user: its job); null when NVML could not list processes.
    processes = models.JSONField(null=True, blank=True, default=list)
    process_count = models.SmallIntegerField(default=0)
    rogue_count = models.SmallIntegerField(default=0)
    # Sparkline of the last 10 minutes: {"end": epoch seconds, "step": seconds, "util": [...]}.
    spark = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["node__name", "index"]
        indexes = [models.Index(fields=["node", "index"])]

    def __str__(self) -> str:
        return f"{self.node.name}/gpu{self.index}"
