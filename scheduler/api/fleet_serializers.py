"""Serializers of the fleet API: nodes, GPUs with their current reading, drain input, chart series."""

from django.utils import timezone
from rest_framework import serializers

from portal.api.fields import InstantField
from scheduler.durations import DurationError, parse_duration
from scheduler.models import Booking, Gpu, Job, Node
from scheduler.selectors.fleet import BOARD_STATES

BAD_STEP = "The step must be longer than 0, e.g. PT1M, 1m or 60 (seconds)."
END_BEFORE_START = "end must be after start."


class DurationParamField(serializers.CharField):
    def to_internal_value(self, value):
        try:
            parsed = parse_duration(str(value))  # the grammar people type (scheduler/durations.py)
        except DurationError as exc:
            raise serializers.ValidationError(str(exc)) from None
        if parsed.total_seconds() <= 0:
            raise serializers.ValidationError(BAD_STEP)
        return parsed


class NodeSerializer(serializers.ModelSerializer):
    up = serializers.BooleanField(read_only=True, help_text="agent heartbeat younger than the node-down threshold")
    gpu_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Node
        fields = [
            "id",
            "name",
            "hostname",
            "backend",
            "simulated",
            "driver_version",
            "last_heartbeat",
            "up",
            "drained",
            "drain_reason",
            "last_error",
            "gpu_count",
        ]


class ProcessSerializer(serializers.Serializer):
    pid = serializers.IntegerField()
    used_memory_mb = serializers.IntegerField(source="mem", allow_null=True, help_text="null under MIG")
    owner = serializers.CharField(help_text='job attempt id, or "unknown"')
    rogue = serializers.CharField(help_text='"unowned", "wrong_gpu", or empty when the process is accounted for')
    job = serializers.IntegerField(
        allow_null=True, default=None, help_text="the owning attempt's job id; null when unknown"
    )
    user = serializers.CharField(
        allow_blank=True, default="", help_text="the username of that job's owner; empty when unknown"
    )


class GpuSerializer(serializers.ModelSerializer):
    node = serializers.CharField(source="node.name", read_only=True)
    simulated = serializers.BooleanField(source="node.simulated", read_only=True)
    board_state = serializers.ChoiceField(
        choices=BOARD_STATES, read_only=True, help_text="available, drained (GPU or node), lost, or node_down"
    )
    node_drained = serializers.BooleanField(source="node.drained", read_only=True)
    node_drain_reason = serializers.CharField(source="node.drain_reason", read_only=True)
    memory_free_mb = serializers.SerializerMethodField()
    processes = ProcessSerializer(
        many=True, read_only=True, allow_null=True, help_text="null when NVML could not list them"
    )

    class Meta:
        model = Gpu
        fields = [
            "id",
            "uuid",
            "node",
            "node_id",
            "index",
            "model",
            "simulated",
            "state",
            "board_state",
            "drain_reason",
            "node_drained",
            "node_drain_reason",
            "memory_total_mb",
            "memory_used_mb",
            "memory_free_mb",
            "util_gpu_pct",
            "util_memory_pct",
            "temperature_c",
            "power_w",
            "power_limit_w",
            "fan_speed_pct",
            "mig_mode",
            "processes",
            "process_count",
            "rogue_count",
            "reading_at",
            "last_seen",
        ]

    def get_memory_free_mb(self, gpu: Gpu) -> int | None:
        if gpu.memory_used_mb is None:
            return None
        return gpu.memory_total_mb - gpu.memory_used_mb


class DrainSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    dry_run = serializers.BooleanField(
        default=False, help_text="list the affected bookings and running jobs without draining"
    )
    stop_running_jobs = serializers.BooleanField(
        default=False,
        help_text='also cancel the jobs running on it (reason "GPU drained by <admin>: <reason>"); by default they end normally',
    )


class AffectedBookingSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    team = serializers.CharField(source="team.name")

    class Meta:
        model = Booking
        fields = ["id", "user", "team", "start", "end"]


class AffectedJobSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="owner.username")
    team = serializers.CharField(source="team.name")

    class Meta:
        model = Job
        fields = ["id", "name", "user", "team", "state"]


class GpuDrainResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    stop_running_jobs = serializers.BooleanField()
    gpu = GpuSerializer()
    affected_bookings = AffectedBookingSerializer(many=True)
    running_jobs = AffectedJobSerializer(
        many=True, help_text="jobs running on it: cancelled when stop_running_jobs, else they end normally"
    )


class NodeDrainResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    stop_running_jobs = serializers.BooleanField()
    node = NodeSerializer()
    affected_bookings = AffectedBookingSerializer(many=True)
    running_jobs = AffectedJobSerializer(
        many=True, help_text="jobs running on it: cancelled when stop_running_jobs, else they end normally"
    )


class MetricsQuerySerializer(serializers.Serializer):
    start = InstantField(required=False, help_text="default: end - 1 hour")
    end = InstantField(required=False, help_text="default: now")
    step = DurationParamField(required=False, help_text="ISO 8601 duration or seconds; coarsens the resolution")

    def validate(self, attrs):
        end = attrs.get("end") or timezone.now()
        start = attrs.get("start") or end - timezone.timedelta(hours=1)
        if end <= start:
            raise serializers.ValidationError({"end": [END_BEFORE_START]})
        return {**attrs, "start": start, "end": end}


class SeriesSerializer(serializers.Serializer):
    gpu = serializers.IntegerField()
    simulated = serializers.BooleanField()
    resolution = serializers.ChoiceField(choices=["raw", "1m", "1h"])
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    t = serializers.ListField(child=serializers.FloatField(), help_text="Unix seconds (bucket start for rollups)")
    util = serializers.ListField(child=serializers.FloatField(allow_null=True), help_text="percent; mean for rollups")
    util_max = serializers.ListField(child=serializers.FloatField(allow_null=True))
    memory_mb = serializers.ListField(child=serializers.IntegerField(allow_null=True), help_text="MiB; max for rollups")
    temperature_c = serializers.ListField(child=serializers.FloatField(allow_null=True), help_text="max for rollups")
    power_w = serializers.ListField(child=serializers.FloatField(allow_null=True), help_text="mean for rollups")
