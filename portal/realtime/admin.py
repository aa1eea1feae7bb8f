from django.contrib import admin

from portal.readonly_admin import ReadOnlyAdmin
from portal.realtime.models import Event


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    """Append-only log of live events (pruned by beat); read-only here."""

    list_display = ("id", "topic", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("topic",)
