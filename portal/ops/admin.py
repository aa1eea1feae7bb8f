from django.contrib import admin

from portal.ops.models import Heartbeat
from portal.readonly_admin import ReadOnlyAdmin


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    """Written by the processes themselves (worker, beat, agent); read-only here."""

    list_display = ("name", "last_seen")
    search_fields = ("name",)
