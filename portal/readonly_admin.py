"""The Django admin's view of rows that only the services write (jobs, events, audit entries, snapshots,
model versions…): listed, searched and opened, never added, changed or deleted there, because each write
goes through a service that keeps an invariant a raw edit would bypass (docs/architecture.md)."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
