from django.contrib import admin

from portal.audit.models import AuditEntry
from portal.readonly_admin import ReadOnlyAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """Append-only: written by the services inside each action's transaction; nobody edits or deletes here."""

    list_display = ("at", "actor_name", "action", "target", "team_name")
    list_filter = ("action", "at")
    search_fields = ("actor_name", "target", "team_name")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
