"""Site admins register runtime environments here (docs/jobs.md, "Runtime environments").

Every other scheduler model is listed read-only: jobs, attempts, occupancy, logs and telemetry change only
through the services (cancel a job, drain a GPU, release a booking…), which keep the occupancy invariant
and the quota accounting consistent; a raw admin edit would bypass both.
"""

from django import forms
from django.contrib import admin

from portal.readonly_admin import ReadOnlyAdmin
from scheduler.models import (
    Attempt,
    AttemptPart,
    Booking,
    BookingIdleHour,
    BookingIdlePeriod,
    CalendarFeed,
    FairShareUsage,
    Gpu,
    GpuOccupancy,
    GpuRollup,
    GpuSample,
    Job,
    JobAllocation,
    LogChunk,
    Node,
    ProcessSnapshot,
    RuntimeEnvironment,
    UsageHour,
)
from scheduler.services.environments import environment_errors, environment_save


class RuntimeEnvironmentForm(forms.ModelForm):
    class Meta:
        model = RuntimeEnvironment
        fields = ["name", "description", "python_prefix", "path_entries", "is_default"]

    def clean(self):
        data = super().clean()
        if not data.get("python_prefix"):
            return data  # the field's own "required" error says it
        entries = [line.strip() for line in data.get("path_entries", "").splitlines() if line.strip()]
        for field, messages in environment_errors(
            python_prefix=data.get("python_prefix", ""), path_entries=entries
        ).items():
            self.add_error(field, messages)
        return data


@admin.register(RuntimeEnvironment)
class RuntimeEnvironmentAdmin(admin.ModelAdmin):
    form = RuntimeEnvironmentForm
    list_display = ("name", "python_prefix", "is_default", "created_at")
    search_fields = ("name", "python_prefix")

    def save_model(self, request, obj, form, change):
        environment_save(environment=obj)


@admin.register(Node)
class NodeAdmin(ReadOnlyAdmin):
    """Nodes register themselves through their agent; drain and undrain on the GPU board."""

    list_display = ("name", "hostname", "backend", "simulated", "drained", "last_heartbeat", "created_at")
    list_filter = ("drained", "simulated", "backend")
    search_fields = ("name", "hostname")
    ordering = ("name",)


@admin.register(Gpu)
class GpuAdmin(ReadOnlyAdmin):
    """GPUs come from the agent's NVML readings; drain them on the GPU board."""

    list_display = ("__str__", "node", "index", "model", "memory_total_mb", "state", "last_seen")
    list_filter = ("state", "model", "node")
    search_fields = ("uuid", "model", "node__name")
    list_select_related = ("node",)
    ordering = ("node__name", "index")


@admin.register(Booking)
class BookingAdmin(ReadOnlyAdmin):
    """Bookings change through the timeline (cancel, shorten, extend, release the rest)."""

    list_display = ("id", "user", "team", "start", "end", "state", "idle_since", "created_at")
    list_filter = ("state", "team", "start")
    search_fields = ("user__username", "team__name", "note")
    list_select_related = ("user", "team")
    date_hierarchy = "start"
    ordering = ("-start",)


@admin.register(BookingIdlePeriod)
class BookingIdlePeriodAdmin(ReadOnlyAdmin):
    list_display = ("booking", "start", "end", "flagged_at")
    list_filter = ("start",)
    search_fields = ("booking__user__username", "booking__team__name")
    list_select_related = ("booking",)
    date_hierarchy = "start"
    ordering = ("-start",)


@admin.register(GpuOccupancy)
class GpuOccupancyAdmin(ReadOnlyAdmin):
    list_display = ("gpu", "kind", "team", "user", "start", "end", "booking", "attempt")
    list_filter = ("kind", "team", "gpu__node", "gpu__model", "start")
    search_fields = ("user__username", "team__name", "gpu__uuid", "gpu__node__name")
    list_select_related = ("gpu__node", "team", "user", "booking", "attempt__job")
    date_hierarchy = "start"
    ordering = ("-start",)


@admin.register(CalendarFeed)
class CalendarFeedAdmin(ReadOnlyAdmin):
    """Feeds are made and revoked by their owner on My bookings; the token is a secret."""

    list_display = ("user", "created_at")
    search_fields = ("user__username",)
    list_select_related = ("user",)
    exclude = ("token",)
    ordering = ("-created_at",)


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    """Jobs change through their services (submit, cancel); cancel on the job's page or the API."""

    list_display = (
        "id",
        "name",
        "owner",
        "team",
        "state",
        "gpus",
        "gpu_model",
        "priority",
        "submitted_at",
        "started_at",
        "ended_at",
    )
    list_filter = ("state", "priority", "team", "gpu_model", "submitted_at")
    search_fields = ("name", "command", "owner__username", "team__name")
    list_select_related = ("owner", "team")
    date_hierarchy = "submitted_at"
    ordering = ("-submitted_at",)


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    list_display = (
        "job",
        "number",
        "state",
        "node",
        "host",
        "queued_at",
        "started_at",
        "ended_at",
        "exit_code",
        "gpu_seconds",
    )
    list_filter = ("state", "node", "job__team", "queued_at")
    search_fields = ("job__name", "job__owner__username", "host", "node__name")
    list_select_related = ("job", "node")
    date_hierarchy = "queued_at"
    ordering = ("-queued_at",)


@admin.register(AttemptPart)
class AttemptPartAdmin(ReadOnlyAdmin):
    list_display = ("attempt", "rank", "node", "state", "host", "pgid", "claimed_at", "heartbeat_at", "ended_at")
    list_filter = ("state", "node")
    search_fields = ("attempt__job__name", "host", "node__name")
    list_select_related = ("attempt__job", "node")
    ordering = ("-attempt", "rank")


@admin.register(JobAllocation)
class JobAllocationAdmin(ReadOnlyAdmin):
    list_display = ("attempt", "gpu", "start", "end")
    list_filter = ("gpu__node", "gpu__model", "start")
    search_fields = ("attempt__job__name", "gpu__uuid", "gpu__node__name")
    list_select_related = ("attempt__job", "gpu__node")
    date_hierarchy = "start"
    ordering = ("-start",)


@admin.register(LogChunk)
class LogChunkAdmin(ReadOnlyAdmin):
    """Log bytes are appended by the runner; read them on the job's page (decoded)."""

    list_display = ("attempt", "offset")
    search_fields = ("attempt__job__name",)
    list_select_related = ("attempt__job",)
    exclude = ("data",)
    ordering = ("-id",)


@admin.register(GpuSample)
class GpuSampleAdmin(ReadOnlyAdmin):
    list_display = ("gpu", "at", "util_gpu_pct", "memory_used_mb", "temperature_c", "power_w")
    list_filter = ("gpu__node", "gpu__model", "at")
    search_fields = ("gpu__uuid", "gpu__node__name")
    list_select_related = ("gpu__node",)
    date_hierarchy = "at"
    ordering = ("-at",)


@admin.register(GpuRollup)
class GpuRollupAdmin(ReadOnlyAdmin):
    list_display = ("gpu", "width_s", "start", "samples", "util_mean", "util_max", "memory_max_mb")
    list_filter = ("width_s", "gpu__node", "gpu__model", "start")
    search_fields = ("gpu__uuid", "gpu__node__name")
    list_select_related = ("gpu__node",)
    date_hierarchy = "start"
    ordering = ("-start",)


@admin.register(ProcessSnapshot)
class ProcessSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("gpu", "at", "pid", "used_memory_mb", "owner", "rogue_reason")
    list_filter = ("gpu__node", "at")
    search_fields = ("gpu__uuid", "gpu__node__name", "owner", "rogue_reason")
    list_select_related = ("gpu__node",)
    date_hierarchy = "at"
    ordering = ("-at",)


@admin.register(FairShareUsage)
class FairShareUsageAdmin(ReadOnlyAdmin):
    list_display = ("team", "user", "gpu_seconds", "as_of")
    list_filter = ("team",)
    search_fields = ("team__name", "user__username")
    list_select_related = ("team", "user")
    ordering = ("team__name",)


@admin.register(UsageHour)
class UsageHourAdmin(ReadOnlyAdmin):
    """Beat's hourly totals behind the reports; read-only: they are rebuilt from the rows, not edited."""

    list_display = ("hour", "dimension", "key", "team_id", "job_seconds", "booked_seconds", "idle_seconds")
    list_filter = ("dimension",)
    search_fields = ("key",)
    date_hierarchy = "hour"
    ordering = ("-hour", "dimension", "key")


@admin.register(BookingIdleHour)
class BookingIdleHourAdmin(ReadOnlyAdmin):
    """Beat's per-booking idle hours behind the idle bookings report; read-only, as UsageHour."""

    list_display = ("hour", "booking_id", "team_id", "user_id", "node_id", "gpu_model", "idle_seconds")
    list_filter = ("gpu_model",)
    search_fields = ("=booking_id",)
    date_hierarchy = "hour"
    ordering = ("-hour", "booking_id")
