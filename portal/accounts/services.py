"""Account operations: profile changes and personal API tokens."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction

from portal.accounts.models import ApiToken, User, validate_time_zone

TOKEN_NAME_REQUIRED = "Give the token a name, so you can tell it apart when revoking."
TOKEN_NAME_TAKEN = "You already have a token with this name."
TOKEN_EXPIRY_RANGE = "Expiry must be between 1 and 365 days, or empty for a token that never expires."
MAX_TOKEN_EXPIRY_DAYS = 365


def user_update_time_zone(*, user: User, time_zone: str) -> User:
    validate_time_zone(time_zone)
    user.time_zone = time_zone
    user.save(update_fields=["time_zone"])
    return user


@transaction.atomic
def api_token_create(*, user: User, name: str, expires_in_days: int | None) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the secret, which is never retrievable again."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [TOKEN_NAME_REQUIRED]})
    if ApiToken.objects.filter(user=user, name=name).exists():
        raise ValidationError({"name": [TOKEN_NAME_TAKEN]})
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_TOKEN_EXPIRY_DAYS:
        raise ValidationError({"expires_in_days": [TOKEN_EXPIRY_RANGE]})
    expiry = timedelta(days=expires_in_days) if expires_in_days else None
    return ApiToken.objects.create(user=user, expiry=expiry, name=name)


def api_token_revoke(*, token: ApiToken) -> None:
    token.delete()
