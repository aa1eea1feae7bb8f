"""One error shape for the whole API: {"detail": "...", "errors": {"field": ["..."]}} (docs/decisions.md §3).

The API's half of portal.errors: what services and guards raise (Django's ValidationError,
PermissionDenied, Http404, and portal.errors' family) and what DRF raises itself (serializers, parsers,
authentication) all leave here in that shape.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from portal.errors import ApplicationError, Invalid, field_errors


def _flatten(errors) -> dict[str, list[str]]:
    if isinstance(errors, dict):
        return {str(field): _messages(msgs) for field, msgs in errors.items()}
    return {"non_field_errors": _messages(errors)}


def _messages(errors, where: str = "") -> list[str]:
    """A field's messages as text; a list item's or a nested field's under its position ("0: …",
    "count: …"), never a Python repr of DRF's error tree."""
    if isinstance(errors, dict):
        return [m for key, value in errors.items() for m in _messages(value, f"{where}{key}: ")]
    if isinstance(errors, list) and not all(isinstance(m, str) for m in errors):
        return [m for index, value in enumerate(errors) for m in _messages(value, f"{where}{index}: ")]
    return [f"{where}{m}" for m in (errors if isinstance(errors, list) else [errors])]


def _summary(errors: dict[str, list[str]]) -> str:
    parts = [
        f"{field}: {msgs[0]}" if field != "non_field_errors" else msgs[0] for field, msgs in errors.items() if msgs
    ]
    return "; ".join(parts) or "Invalid input."


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return _refusal(exc.status, detail=exc.detail, errors={}, extra=exc.extra)
    if isinstance(exc, Invalid):
        errors = field_errors(exc)
        return _refusal(exc.status, detail=exc.detail or _summary(errors), errors=errors, extra=exc.extra)
    if isinstance(exc, ValidationError):
        errors = field_errors(exc)
        return _refusal(400, detail=_summary(errors), errors=errors, extra={})
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        response.data = {"detail": _summary(errors), "errors": errors}
    else:
        detail = exc.detail if isinstance(exc.detail, str) else _summary(_flatten(exc.detail))
        response.data = {"detail": str(detail), "errors": {}}
    return response


def _refusal(status: int, *, detail: str, errors: dict, extra: dict) -> Response:
    set_rollback()  # as DRF does for its own exceptions: a refused request writes nothing
    return Response({"detail": detail, "errors": errors, **extra}, status=status)
