"""API rate limits: per token (a browser session counts as one) and per address for anonymous calls.

Rates are read at each request from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (environment variables,
docs/configuration.md), so a test that changes them sees the change. Counts live in Django's cache:
Redis in service mode, so every web process counts against one budget; the process's memory in
embedded mode (one web process). While Redis is out of reach the throttles let calls through: an
outage of the cache must not become an outage of the API.
"""

import logging

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions, permissions
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)
CACHE_UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str:
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except CACHE_UNREACHABLE as exc:
            logger.warning("throttle cache unreachable, letting the call through: %s", exc)
            return True


class TokenRateThrottle(_SettingsRateThrottle):
    """Each token has its own budget, so one runaway script does not stall its owner's other tokens."""

    scope = "token"

    def get_cache_key(self, request, view) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        token = request.auth
        ident = f"token-{token.pk}" if token is not None and hasattr(token, "pk") else f"user-{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonymousRateThrottle(_SettingsRateThrottle):
    scope = "anonymous"

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class _RefusalThrottle(AnonymousRateThrottle):
    """The anonymous budget of the caller's address, read without asking who the caller is: it is
    charged while authentication itself is failing."""

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def charge_refusal(request, view=None) -> None:
    """Count a refused anonymous call (no credentials, or a bad token) against its address; past the
    budget, a 429. DRF's throttles run after authentication and permissions, so they never see these."""
    throttle = _RefusalThrottle()
    if not throttle.allow_request(request, view):
        raise exceptions.Throttled(throttle.wait())


class IsAuthenticated(permissions.IsAuthenticated):
    """DRF's IsAuthenticated, charging each anonymous refusal to the caller's address."""

    def has_permission(self, request, view) -> bool:
        if super().has_permission(request, view):
            return True
        charge_refusal(request, view)
        return False
