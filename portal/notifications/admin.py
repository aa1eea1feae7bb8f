from django.contrib import admin

from portal.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("title", "user", "kind", "created_at", "read_at")
    list_filter = ("kind", "created_at")
    search_fields = ("title", "user__username")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
