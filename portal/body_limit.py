"""Request bodies past their route's limit are refused before Django reads them (docs/security.md
"Request sizes").

An ASGI middleware around the Django application: a `Content-Length` over the limit is a 413 at once,
without a byte of the body read by Django; a body sent without one (chunked) is counted as it arrives,
and the first chunk past the limit ends the request with the same 413, Django seeing a disconnect.
Under /api/ the 413 is the contract's error shape with `limit`; elsewhere a short page. The limits
are settings: REQUEST_BODY_LIMITS (a path pattern and its bytes, first match wins), else
DATA_UPLOAD_MAX_MEMORY_SIZE, the limit Django applies to a body read whole.
"""

import json
import re
from html import escape

from django.conf import settings

TOO_LARGE = "The request body is larger than the {limit} bytes allowed."


class BodyLimit:
    def __init__(self, app):
        self.app = app
        self.routes = [(re.compile(pattern), limit) for pattern, limit in settings.REQUEST_BODY_LIMITS]

    def limit_for(self, path: str) -> int | None:
        for pattern, limit in self.routes:
            if pattern.match(path):
                return limit
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    async def __call__(self, scope, receive, send):
        limit = self.limit_for(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            return await self.app(scope, receive, send)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            return await _refuse(scope, send, limit)
        received = 0
        refused = False

        async def counted_receive():
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await _refuse(scope, send, limit)
                    return {"type": "http.disconnect"}  # Django stops reading and answers nothing
            return message

        async def guarded_send(message):
            if not refused:
                await send(message)

        await self.app(scope, counted_receive, guarded_send)


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server or Django refuses a malformed one
    return None


async def _refuse(scope, send, limit: int) -> None:
    detail = TOO_LARGE.format(limit=limit)
    if scope["path"].startswith("/api/"):
        body = json.dumps({"detail": detail, "errors": {}, "limit": limit}).encode()
        content_type = b"application/json"
    else:
        body = f"<!doctype html><title>Request too large</title><h1>Request too large</h1><p>{escape(detail)}</p>"
        body = body.encode()
        content_type = b"text/html; charset=utf-8"
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
