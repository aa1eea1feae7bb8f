"""A request body past its route's limit is a 413 before the application reads it (portal/body_limit.py):
at once for a Content-Length over the limit, at the first chunk past it for a body without one."""

import json

from django.conf import settings

from portal.asgi import application
from portal.body_limit import BodyLimit
from tests.asyncio_thread import run_coroutine

DEFAULT_LIMIT = settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class RecordingApp:
    """An inner application that reads the whole body, as Django does, then answers 200."""

    def __init__(self):
        self.called = False
        self.body = b""
        self.last_message = None

    async def __call__(self, scope, receive, send):
        self.called = True
        while True:
            message = await receive()
            self.last_message = message
            if message["type"] == "http.disconnect":
                return
            self.body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _serve(path: str, chunks: list[bytes], *, content_length: int | None):
    """Run BodyLimit(app) on one request; what the client got (status, headers, body) and the app."""
    app = RecordingApp()
    headers = [] if content_length is None else [(b"content-length", str(content_length).encode())]
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    incoming = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)
    ]
    sent = []

    async def receive():
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    run_coroutine(BodyLimit(app)(scope, receive, send))
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start.get("headers", [])), body, app


def test_a_content_length_past_the_limit_is_a_413_with_the_limit_and_the_app_never_runs():
    status, headers, body, app = _serve("/api/v1/bookings/", [b""], content_length=DEFAULT_LIMIT + 1)
    assert status == 413 and headers[b"content-type"] == b"application/json"
    assert json.loads(body) == {
        "detail": f"The request body is larger than the {DEFAULT_LIMIT} bytes allowed.",
        "errors": {},
        "limit": DEFAULT_LIMIT,
    }
    assert not app.called


def test_a_body_without_a_length_is_cut_at_the_first_chunk_past_the_limit():
    chunk = b"x" * (DEFAULT_LIMIT // 2)
    status, _headers, body, app = _serve("/api/v1/bookings/", [chunk, chunk, chunk, chunk], content_length=None)
    assert status == 413 and json.loads(body)["limit"] == DEFAULT_LIMIT
    assert app.last_message == {"type": "http.disconnect"}  # Django stops reading; its answer is dropped
    assert len(app.body) == 2 * len(chunk)  # the third chunk, past the limit, never reached it


def test_a_body_within_the_limit_reaches_the_app_whole():
    chunks = [b"a" * 1000, b"b" * 1000]
    status, _headers, body, app = _serve("/api/v1/bookings/", chunks, content_length=2000)
    assert (status, body, app.body) == (200, b"ok", b"".join(chunks))


def test_the_upload_route_allows_its_files_past_the_default_limit():
    size = 10 * 1024 * 1024
    status, _headers, _body, app = _serve("/api/v1/datasets/7/uploads/", [b"x" * size], content_length=size)
    assert status == 200 and len(app.body) == size
    upload_limit = BodyLimit(app).limit_for("/api/v1/datasets/7/uploads/")
    limits = settings.INGEST_LIMITS
    assert upload_limit > limits.max_files_per_request * limits.max_file_bytes


def test_the_upload_route_refuses_past_its_own_limit():
    limit = BodyLimit(RecordingApp()).limit_for("/api/v1/datasets/7/annotation-imports/")
    status, _headers, body, app = _serve("/api/v1/datasets/7/annotation-imports/", [b""], content_length=limit + 1)
    assert status == 413 and json.loads(body)["limit"] == limit and not app.called


def test_a_page_past_the_limit_is_a_413_page():
    status, headers, body, _app = _serve("/labeling/", [b""], content_length=DEFAULT_LIMIT + 1)
    assert status == 413 and headers[b"content-type"].startswith(b"text/html")
    assert b"Request too large" in body


def test_websockets_pass_through_untouched():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    run_coroutine(BodyLimit(app)({"type": "websocket", "path": "/ws/", "headers": []}, None, None))
    assert seen == ["websocket"]


def test_the_site_application_bounds_http_bodies():
    assert isinstance(application.application_mapping["http"], BodyLimit)
