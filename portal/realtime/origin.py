"""Websockets accept the page's own origin and the CSRF-trusted ones: the rule Django's CSRF check applies
to a POST, compared by scheme, host and port (docs/security.md "Websockets")."""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.http.request import is_same_domain


class _Handshake(HttpRequest):
    """The websocket handshake as the HTTP request it is, so Django's own rules give its host (checked
    against ALLOWED_HOSTS) and scheme (SECURE_PROXY_SSL_HEADER behind a TLS proxy)."""

    def __init__(self, scope):
        super().__init__()
        self._transport_scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
        for name, value in scope.get("headers", []):
            self.META.setdefault("HTTP_" + name.decode("latin1").upper().replace("-", "_"), value.decode("latin1"))
        host, port = scope.get("server") or ("", "")
        self.META["SERVER_NAME"], self.META["SERVER_PORT"] = host or "", str(port or "")

    def _get_scheme(self) -> str:
        return self._transport_scheme


def origin_allowed(scope) -> bool:
    request = _Handshake(scope)
    origin = request.META.get("HTTP_ORIGIN")
    if not origin:
        return False
    try:
        if origin == f"{request.scheme}://{request.get_host()}":
            return True
    except DisallowedHost:
        pass
    return _trusted(origin)


def _trusted(origin: str) -> bool:
    """CSRF_TRUSTED_ORIGINS as Django reads them: exact origins, or `scheme://*.domain` for its subdomains."""
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return any(
        is_same_domain(parts.netloc, trusted.split("://", 1)[1][1:])
        for trusted in settings.CSRF_TRUSTED_ORIGINS
        if trusted.startswith(f"{parts.scheme}://*.")
    )


class SameOriginValidator:
    """ASGI middleware: a websocket from any other origin is refused at the handshake (403)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
