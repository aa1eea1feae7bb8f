"""Translate between JSON and the booking services: instants, wall-clock times, GPU requests."""

from rest_framework import serializers

from portal.api.fields import InstantField, WholeNumberField
from portal.inputs import InputError, integer_from
from portal.teams.models import Team
from scheduler import access
from scheduler.durations import DurationError, parse_duration
from scheduler.models import Booking
from scheduler.selectors.placement import GpuRequest
from scheduler.wallclock import FOLDS, InstantError, wall_clock_parse

GIVE_START = "Give `start` (with an offset) or `start_local` (wall-clock, your time zone)."
GIVE_END = "Give `end` (with an offset) or `end_local` (wall-clock, your time zone)."
BOTH_FORMS = "Give either `{name}` or `{name}_local`, not both."
GPUS_OR_IDS = "Give either `gpus` (a count) or `gpu_ids`, not both."
DURATION_POSITIVE = "The duration must be positive."


def _instant(attrs: dict, name: str, *, zone, required: bool, missing: str):
    """`name` as an instant with an offset, or `name_local` as wall-clock time in the user's zone."""
    raw, local = attrs.get(name), attrs.get(f"{name}_local")
    if raw and local:
        raise serializers.ValidationError({name: [BOTH_FORMS.format(name=name)]})
    if not raw and not local:
        if required:
            raise serializers.ValidationError({name: [missing]})
        return None
    if raw:
        return raw  # InstantField parsed it
    try:
        return wall_clock_parse(local, zone=zone, choice=attrs.get("ambiguous"))
    except InstantError as exc:
        raise serializers.ValidationError({f"{name}_local": [str(exc)]}) from None


class WindowFields(serializers.Serializer):
    start = InstantField(required=False, help_text="ISO 8601 instant with an offset.")
    end = InstantField(required=False, help_text="ISO 8601 instant with an offset.")
    start_local = serializers.CharField(required=False, help_text="Wall-clock time in your time zone, no offset.")
    end_local = serializers.CharField(required=False, help_text="Wall-clock time in your time zone, no offset.")
    ambiguous = serializers.ChoiceField(
        choices=list(FOLDS), required=False, help_text="For a wall-clock time that happens twice."
    )

    def window(self, attrs: dict, *, required: bool) -> tuple:
        zone = self.context["request"].user.tz
        start = _instant(attrs, "start", zone=zone, required=required, missing=GIVE_START)
        end = _instant(attrs, "end", zone=zone, required=required, missing=GIVE_END)
        return start, end


class BookingCreateSerializer(WindowFields):
    gpus = WholeNumberField(required=False, min_value=0, help_text="How many GPUs; the service picks them.")
    gpu_ids = serializers.ListField(child=WholeNumberField(), required=False, allow_empty=False)
    node = serializers.CharField(required=False)
    model = serializers.CharField(required=False)
    min_memory_mb = WholeNumberField(required=False, min_value=1)
    same_node = serializers.BooleanField(required=False, default=False)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")

    def validate(self, attrs):
        if attrs.get("gpu_ids") and attrs.get("gpus") is not None:
            raise serializers.ValidationError({"gpus": [GPUS_OR_IDS]})
        attrs["start"], attrs["end"] = self.window(attrs, required=True)
        attrs["request"] = GpuRequest(
            gpu_ids=tuple(attrs.get("gpu_ids") or ()),
            count=attrs.get("gpus"),
            node=attrs.get("node"),
            model=attrs.get("model"),
            min_memory_mb=attrs.get("min_memory_mb"),
            same_node=attrs["same_node"],
        )
        return attrs


class BookingUpdateSerializer(WindowFields):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def validate(self, attrs):
        attrs["start"], attrs["end"] = self.window(attrs, required=False)
        return attrs


class GpuBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="__str__")
    node = serializers.CharField(source="node.name")
    model = serializers.CharField()


class BookingSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    team = serializers.IntegerField(source="team_id")
    team_name = serializers.CharField(source="team.name")
    gpus = GpuBriefSerializer(many=True)
    note = serializers.SerializerMethodField(help_text="Null where you may not see it (other teams' notes).")
    can_change = serializers.SerializerMethodField()
    idle = serializers.SerializerMethodField()

    class Meta:
        model = Booking
        fields = [
            "id",
            "user",
            "team",
            "team_name",
            "gpus",
            "start",
            "end",
            "state",
            "note",
            "can_change",
            "idle",
            "idle_since",
            "idle_flagged_at",
            "cancelled_at",
            "created_at",
            "updated_at",
        ]

    def get_note(self, obj) -> str | None:
        user = self.context["request"].user
        return obj.note if access.may_see_note(user, obj, self.context.get("team_ids")) else None

    def get_can_change(self, obj) -> bool:
        return access.may_change_booking(self.context["request"].user, obj)

    def get_idle(self, obj) -> bool:
        return obj.idle_flagged_at is not None


class AvailabilityQuerySerializer(serializers.Serializer):
    gpus = WholeNumberField(min_value=1, required=False)
    gpu_ids = serializers.CharField(required=False, help_text="Comma-separated GPU ids.")
    duration = serializers.CharField(help_text="ISO 8601 duration, e.g. PT8H.")
    after = InstantField(required=False, help_text="ISO 8601 instant with an offset; default now.")
    node = serializers.CharField(required=False)
    model = serializers.CharField(required=False)
    min_memory_mb = WholeNumberField(required=False, min_value=1)
    same_node = serializers.BooleanField(required=False, default=False)
    limit = WholeNumberField(required=False, min_value=1, max_value=20, default=3)

    def validate_duration(self, value):
        try:
            duration = parse_duration(value)  # the grammar people type (scheduler/durations.py)
        except DurationError as exc:
            raise serializers.ValidationError(str(exc)) from None
        if duration.total_seconds() <= 0:
            raise serializers.ValidationError(DURATION_POSITIVE)
        return duration

    def validate_gpu_ids(self, value):
        try:
            return tuple(integer_from(part, minimum=1) for part in value.split(",") if part.strip())
        except InputError:
            raise serializers.ValidationError("Comma-separated GPU ids (whole numbers).") from None


class WindowSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    gpu_ids = serializers.ListField(child=serializers.IntegerField())


class UsageSerializer(serializers.Serializer):
    team = serializers.IntegerField()
    team_name = serializers.CharField()
    month = serializers.CharField()
    reserved_gpu_hours = serializers.FloatField()
    used_gpu_hours = serializers.FloatField()
    idle_gpu_hours = serializers.FloatField()
    counted_gpu_hours = serializers.FloatField()
    gpu_hours_per_month = serializers.FloatField()
    remaining_gpu_hours = serializers.FloatField()
    percent_used = serializers.FloatField()
    max_concurrent_gpus = serializers.IntegerField()
    max_booking_hours = serializers.IntegerField()
    booking_horizon_days = serializers.IntegerField()
    guaranteed_gpus = serializers.IntegerField()
