"""The audit log: append-only rows of administrative actions (docs/reports.md "Audit log").

Written only by `portal.audit.services.audit_record`, inside the transaction of the action it records.
No path edits or deletes a row: `save()` refuses an update, `delete()` refuses, and the manager's
`update()` / `delete()` refuse too. Actor and team are plain ids (no database constraint, no cascade):
deleting a user or a team must not rewrite history; their names are kept beside the ids.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from portal.immutable import ImmutableModel

APPEND_ONLY = "The audit log is append-only: its rows are never changed or deleted."


class AuditImmutable(Exception):
    """An attempt to change or delete an audit row."""


class AuditEntry(ImmutableModel):
    immutable_error = AuditImmutable
    immutable_message = APPEND_ONLY

    class Action(models.TextChoices):
        GPU_DRAIN = "gpu_drain", "GPU drained"
        GPU_UNDRAIN = "gpu_undrain", "GPU undrained"
        NODE_DRAIN = "node_drain", "Node drained"
        NODE_UNDRAIN = "node_undrain", "Node undrained"
        QUOTA_CHANGE = "quota_change", "Quota changed"
        MEMBERSHIP_CHANGE = "membership_change", "Roles changed"
        MEMBERSHIP_REMOVE = "membership_remove", "Member removed"
        TOKEN_REVOKE = "token_revoke", "API token revoked by someone else"
        BOOKING_CHANGE = "booking_change", "Booking changed by someone else"
        BOOKING_CANCEL = "booking_cancel", "Booking cancelled by someone else"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True)  # "" for the system (demo seed, a script)
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    team_name = models.CharField(max_length=100, blank=True)
    target_type = models.CharField(max_length=32)  # gpu, node, team_quota, membership, api_token, booking
    target_id = models.CharField(max_length=64)
    target = models.CharField(max_length=200)  # what a person reads: "node-1 GPU 0", "alice in Vision"
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)  # instants ISO, decimals as text
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["team", "at"]), models.Index(fields=["actor", "at"])]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name or 'system'}: {self.get_action_display()} {self.target}"
