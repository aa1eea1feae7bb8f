from django.contrib import admin

from portal.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Written through the notification service (pushed live, counted unread); read-only here."""

    list_display = ("title", "user", "kind", "created_at", "read_at")
    list_filter = ("kind", "created_at")
    search_fields = ("title", "user__username")
    list_select_related = ("user",)
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
