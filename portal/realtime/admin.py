from django.contrib import admin

from portal.realtime.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("id", "topic", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("topic",)
