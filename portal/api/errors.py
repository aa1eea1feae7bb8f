"""One error shape for the whole API: {"detail": "...", "errors": {"field": ["..."]}} (docs/decisions.md §3)."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    """409 with extension keys (`conflicts`, `suggestions`) that the caller can act on."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict."

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.extra = extra


class PreconditionFailed(Conflict):
    """412: the If-Match version is stale; `current` carries the server's document and version."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The document changed since you loaded it."


class PreconditionRequired(exceptions.APIException):
    """428: a write that could overwrite someone's work came without If-Match."""

    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = "Send If-Match with the version you edited."


def _flatten(errors) -> dict[str, list[str]]:
    if isinstance(errors, dict):
        return {
            str(field): [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])] for field, msgs in errors.items()
        }
    if isinstance(errors, list):
        return {"non_field_errors": [str(m) for m in errors]}
    return {"non_field_errors": [str(errors)]}


def _summary(errors: dict[str, list[str]]) -> str:
    parts = [
        f"{field}: {msgs[0]}" if field != "non_field_errors" else msgs[0] for field, msgs in errors.items() if msgs
    ]
    return "; ".join(parts) or "Invalid input."


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
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
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        response.data = {"detail": str(detail), "errors": {}}
    response.data.update(getattr(exc, "extra", {}))
    return response


def error_response(detail: str, http_status: int, **extra) -> Response:
    return Response({"detail": detail, "errors": {}, **extra}, status=http_status)
