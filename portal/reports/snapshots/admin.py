from django.contrib import admin

from portal.readonly_admin import ReadOnlyAdmin
from portal.reports.snapshots.models import SnapshotMonth, SnapshotRow


@admin.register(SnapshotMonth)
class SnapshotMonthAdmin(ReadOnlyAdmin):
    list_display = ("month", "taken_at", "start", "end", "time_zone")
    date_hierarchy = "month"


@admin.register(SnapshotRow)
class SnapshotRowAdmin(ReadOnlyAdmin):
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
