from contextlib import contextmanager
from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.fields import WholeNumberField
from scheduler.durations import DurationError, parse_duration
from scheduler.models import Attempt, Job, Priority, RuntimeEnvironment
from scheduler.models.jobs import PEAK_FROM_PROCESSES, PEAK_FROM_WHOLE_GPU

BOOKING_NAMED_TWICE = "Give the booking once: `reservation` is the old name of `booking`."
OLD_BOOKING_NAME = "Deprecated: the old name of `booking`."


@extend_schema_field({"type": "string", "example": "PT4H"})
class TypedDurationField(serializers.Field):
    """A duration in the grammar people type (scheduler/durations.py): `PT4H`, `4h`, `1h30m`, `4:00:00`;
    a JSON number is seconds, as the API always read it."""

    default_error_messages = {"invalid": "Give the duration as text (e.g. PT4H, 4h) or a number of seconds."}

    def to_internal_value(self, data) -> timedelta:
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid")
        try:
            return parse_duration(str(data))
        except DurationError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value: timedelta) -> str:
        return f"PT{int(value.total_seconds())}S"


class JobSubmitSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    command = serializers.CharField(allow_blank=True, trim_whitespace=True)
    working_dir = serializers.CharField(required=False, allow_blank=True, default="")
    env = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)
    gpus = WholeNumberField(min_value=0, max_value=1024)
    gpu_model = serializers.CharField(required=False, allow_blank=True, default="")
    min_memory_mb = WholeNumberField(required=False, min_value=0, default=0)
    multi_node = serializers.BooleanField(required=False, default=False)
    time_limit = TypedDurationField(
        help_text="How long the job may run: ISO 8601 (PT4H), units (4h, 90m, 1h30m, 2d), a clock (4:00:00) or a "
        "number of seconds; docs/jobs.md"
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False, default=Priority.NORMAL)
    preemptible = serializers.BooleanField(required=False, default=False)
    team = WholeNumberField(required=False, allow_null=True, default=None)
    booking = WholeNumberField(
        required=False, allow_null=True, default=None, help_text="run inside this booking of your team"
    )
    reservation = WholeNumberField(required=False, allow_null=True, default=None, help_text=OLD_BOOKING_NAME)
    labels = serializers.DictField(child=serializers.CharField(), required=False, default=dict)
    inputs = serializers.DictField(child=serializers.CharField(), required=False, default=dict)
    environment = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="name of a runtime environment (GET /api/v1/environments/); empty: the default one",
    )

    def validate(self, attrs):
        old = attrs.pop("reservation")
        if old is not None and attrs["booking"] not in (None, old):
            raise serializers.ValidationError({"booking": [BOOKING_NAMED_TWICE]})
        if attrs["booking"] is None:
            attrs["booking"] = old
        return attrs

    @property
    def booking_field(self) -> str:
        """The name the client gave the booking by: errors about it answer under that name."""
        sent = self.initial_data
        return "reservation" if sent.get("booking") is None and sent.get("reservation") is not None else "booking"

    @contextmanager
    def booking_errors_named_as_sent(self):
        """Around the submit service: its errors on `booking` answer under the name the client used."""
        try:
            yield
        except DjangoValidationError as exc:
            errors = getattr(exc, "error_dict", {})
            if self.booking_field != "booking" and "booking" in errors:
                errors[self.booking_field] = errors.pop("booking")
            raise


class AttemptSerializer(serializers.ModelSerializer):
    node = serializers.CharField(source="node.name")
    gpus = serializers.SerializerMethodField()
    peak_memory_source = serializers.ChoiceField(
        choices=[PEAK_FROM_PROCESSES, PEAK_FROM_WHOLE_GPU],
        read_only=True,
        allow_null=True,
        help_text="Where peak_memory_mb came from: the attempt's own processes, or the whole GPU (no per-process "
        "figure, as under MIG).",
    )

    class Meta:
        model = Attempt
        fields = [
            "number",
            "state",
            "reason",
            "node",
            "host",
            "gpus",
            "queued_at",
            "started_at",
            "ended_at",
            "heartbeat_at",
            "exit_code",
            "signal",
            "gpu_seconds",
            "peak_memory_mb",
            "peak_memory_source",
            "log_size",
            "log_truncated",
        ]

    def get_gpus(self, attempt) -> list[str]:
        return [f"{a.gpu.node.name}/gpu{a.gpu.index}" for a in attempt.allocations.all()]


class JobSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")
    team = serializers.CharField(source="team.name")
    time_limit = serializers.SerializerMethodField()
    gpu_hours = serializers.SerializerMethodField()
    reservation = serializers.IntegerField(
        source="booking_id", read_only=True, allow_null=True, help_text=OLD_BOOKING_NAME
    )
    environment = serializers.SlugRelatedField(
        slug_field="name",
        read_only=True,
        allow_null=True,
        help_text="The runtime environment `python` resolves in; null for jobs from before environments.",
    )
    fair_share_factor = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="While pending: its user's fair-share factor in (0, 1] at the last scheduling pass; 1 is an "
        "unused share, lower the more the team (and the user within it) used lately. Null otherwise.",
    )

    class Meta:
        model = Job
        fields = [
            "id",
            "name",
            "owner",
            "team",
            "state",
            "state_reason",
            "command",
            "working_dir",
            "env",
            "gpus",
            "gpu_model",
            "min_memory_mb",
            "multi_node",
            "time_limit",
            "priority",
            "preemptible",
            "booking",
            "reservation",
            "labels",
            "inputs",
            "environment",
            "submitted_at",
            "started_at",
            "ended_at",
            "queue_position",
            "pending_reason",
            "estimated_start",
            "fair_share_factor",
            "cancel_requested_at",
            "gpu_hours",
        ]

    def get_time_limit(self, job) -> str:
        return f"PT{job.time_limit_s}S"

    def get_gpu_hours(self, job) -> float:
        return round(sum(a.gpu_seconds for a in job.attempts.all()) / 3600, 4)


class LogPageSerializer(serializers.Serializer):
    attempt = serializers.IntegerField()
    offset = serializers.IntegerField()
    next_offset = serializers.IntegerField()
    data = serializers.CharField()
    truncated = serializers.BooleanField()
    complete = serializers.BooleanField(help_text="True once the attempt ended and every byte was returned")


class PartLogPageSerializer(serializers.Serializer):
    attempt = serializers.IntegerField()
    rank = serializers.IntegerField()
    offset = serializers.IntegerField()
    next_offset = serializers.IntegerField()
    data = serializers.CharField()
    complete = serializers.BooleanField(help_text="True once the part ended and every byte was returned")


class OutputFileSerializer(serializers.Serializer):
    path = serializers.CharField()
    size = serializers.IntegerField()
    url = serializers.CharField()


class RuntimeEnvironmentSerializer(serializers.ModelSerializer):
    path_entries = serializers.ListField(
        source="extra_path",
        child=serializers.CharField(),
        read_only=True,
        help_text="put on PATH after the prefix's bin",
    )

    class Meta:
        model = RuntimeEnvironment
        fields = ["id", "name", "description", "python_prefix", "path_entries", "is_default"]
