import logging
from datetime import timedelta

from django.db import DatabaseError, transaction
from django.utils import timezone
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from portal.accounts.models import ApiToken
from portal.api.throttling import charge_refusal

LAST_USED_RESOLUTION = timedelta(minutes=1)
log = logging.getLogger(__name__)


class TokenAuthentication(KnoxTokenAuthentication):
    """Knox's hashed tokens, plus a coarse `last used` stamp shown on the profile page; a bad token
    counts against the caller's anonymous budget (portal/api/throttling.py), so guessing meets a 429."""

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            charge_refusal(request)
            raise

    def validate_user(self, auth_token):
        now = timezone.now()
        if auth_token.last_used_at is None or now - auth_token.last_used_at > LAST_USED_RESOLUTION:
            self._stamp_last_used(auth_token, now)
        return super().validate_user(auth_token)

    @staticmethod
    def _stamp_last_used(auth_token, now) -> None:
        """Bookkeeping, not a reason to refuse the request: a full disk or a read-only database
        must not fail every token-authenticated call, reads included."""
        try:
            with transaction.atomic():  # a savepoint: a failed write leaves the request's transaction usable
                ApiToken.objects.filter(pk=auth_token.pk).update(last_used_at=now)
        except DatabaseError:
            log.warning("could not record that token %s was used", auth_token.token_key, exc_info=True)
