from django.contrib import admin

from portal.realtime.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Append-only log of live events (pruned by beat); read-only here."""

    list_display = ("id", "topic", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("topic",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
