"""Account operations: profile changes and personal API tokens."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from portal.accounts.models import ApiToken, User, validate_time_zone
from portal.audit.models import AuditEntry
from portal.audit.services import audit_record

TOKEN_NAME_REQUIRED = "Give the token a name, so you can tell it apart when revoking."
TOKEN_NAME_TAKEN = "You already have a token with this name."
TOKEN_EXPIRY_RANGE = "Expiry must be between 1 and {max_days} days: every token expires."


def user_update_time_zone(*, user: User, time_zone: str) -> User:
    validate_time_zone(time_zone)
    user.time_zone = time_zone
    user.save(update_fields=["time_zone"])
    return user


@transaction.atomic
def api_token_create(*, user: User, name: str, expires_in_days: int | None) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the secret, which is never retrievable again. Every token
    expires, within the site's API_TOKEN_MAX_DAYS: a leaked one stops working by itself."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [TOKEN_NAME_REQUIRED]})
    if ApiToken.objects.filter(user=user, name=name).exists():
        raise ValidationError({"name": [TOKEN_NAME_TAKEN]})
    max_days = settings.API_TOKEN_MAX_DAYS
    if expires_in_days is None or not 1 <= expires_in_days <= max_days:
        raise ValidationError({"expires_in_days": [TOKEN_EXPIRY_RANGE.format(max_days=max_days)]})
    return ApiToken.objects.create(user=user, expiry=timedelta(days=expires_in_days), name=name)


@transaction.atomic
def api_token_revoke(*, token: ApiToken, by) -> None:
    """Revoke a token. Revoked by someone other than its owner (a site admin in the admin), it is
    audited (docs/reports.md "Audit log")."""
    if by is not None and by.pk != token.user_id:
        audit_record(
            actor=by,
            action=AuditEntry.Action.TOKEN_REVOKE,
            target_type="api_token",
            target_id=token.token_key,
            target=f"token “{token.name}” of {token.user.username}",
            before={"owner": token.user.username, "name": token.name, "expiry": token.expiry},
            after=None,
        )
    token.delete()
