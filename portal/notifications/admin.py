from django.contrib import admin

from portal.notifications.models import Notification
from portal.readonly_admin import ReadOnlyAdmin


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """Written through the notification service (pushed live, counted unread); read-only here."""

    list_display = ("title", "user", "kind", "created_at", "read_at")
    list_filter = ("kind", "created_at")
    search_fields = ("title", "user__username")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
