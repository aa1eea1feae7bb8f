from django.contrib import admin

from portal.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Append-only: written by the services inside each action's transaction; nobody edits or deletes here."""

    list_display = ("at", "actor_name", "action", "target", "team_name")
    list_filter = ("action", "at")
    search_fields = ("actor_name", "target", "team_name")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
