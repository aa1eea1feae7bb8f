"""Writing the audit log (docs/reports.md "Audit log"). The one writer of `AuditEntry`."""

from django.db import transaction

from portal.audit.models import AuditEntry

NOT_IN_TRANSACTION = "audit_record runs inside the action's transaction (transaction.atomic)."


def audit_record(
    *,
    actor,
    action: str,
    target_type: str,
    target_id,
    target: str,
    team=None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    """Record one administrative action. It must run inside the action's own transaction, so a
    rolled-back action leaves no row and no action commits without its row."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(NOT_IN_TRANSACTION)
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_name=getattr(actor, "username", "") or "",
        action=action,
        team=team,
        team_name=team.name if team is not None else "",
        target_type=target_type,
        target_id=str(target_id),
        target=str(target)[:200],
        before=before,
        after=after,
    )
