from django.contrib import admin

from portal.reports.snapshots.models import SnapshotMonth, SnapshotRow


class ReadOnly(admin.ModelAdmin):
    """Written by beat's monthly snapshot task; immutable, so read-only here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SnapshotMonth)
class SnapshotMonthAdmin(ReadOnly):
    list_display = ("month", "taken_at", "start", "end", "time_zone")
    date_hierarchy = "month"


@admin.register(SnapshotRow)
class SnapshotRowAdmin(ReadOnly):
    list_display = (
        "snapshot",
        "team_name",
        "username",
        "is_team_total",
        "reserved_gpu_hours",
        "used_gpu_hours",
        "idle_gpu_hours",
        "quota_gpu_hours",
    )
    list_filter = ("snapshot", "is_team_total")
    search_fields = ("team_name", "username")
    list_select_related = ("snapshot",)
