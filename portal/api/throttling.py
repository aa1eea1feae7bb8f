"""API rate limits: per token (a browser session counts as one) and per address for anonymous calls.

Rates are read at each request from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (environment variables,
docs/configuration.md), so a test that changes them sees the change. Counts live in the process's
cache: with several web processes each keeps its own.
"""

from rest_framework import exceptions, permissions
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str:
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


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


class IsAuthenticated(permissions.IsAuthenticated):
    """DRF checks permissions before throttles, so an anonymous call refused with 401 would never count
    against its address: here each refusal is charged to the address, and past the budget it is a 429."""

    def has_permission(self, request, view) -> bool:
        if super().has_permission(request, view):
            return True
        throttle = AnonymousRateThrottle()
        if not throttle.allow_request(request, view):
            raise exceptions.Throttled(throttle.wait())
        return False
