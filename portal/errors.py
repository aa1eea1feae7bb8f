"""The errors services, selectors and access modules raise: one vocabulary, translated once for the API
(portal.api.errors) and once for pages (the views' forms, and portal.views.RefusalPages).

Django's own exceptions say most of it: `ValidationError` (field errors: a 400, or form errors on a
page), `PermissionDenied` (403) and `Http404`. What they cannot say is here, as plain exceptions whose
payload is attributes: a status other than 400 for invalid input, and the extension keys of the API's
error body (docs/decisions.md §3: a 409's `conflicts`, a 412's `current`, a 413's `limit`). Nothing here
knows HTTP frameworks: no DRF, no responses.
"""

from django.core.exceptions import ValidationError


class Invalid(ValidationError):
    """Invalid input that says more than its field errors: `status` (413 when over a limit), `detail`
    when the summary of the fields is not the message, and extension keys (`extra`) for the API body.
    Still a ValidationError: a page that shows a form catches it as one."""

    def __init__(self, errors: dict[str, list[str]], *, status: int = 400, detail: str | None = None, **extra):
        super().__init__(errors)
        self.status = status
        self.detail = detail
        self.extra = extra


class ApplicationError(Exception):
    """A refusal that is not about the input's fields: its status, its message and extension keys."""

    status = 400
    default_detail = "The request was refused."

    def __init__(self, detail: str | None = None, **extra):
        self.detail = detail or self.default_detail
        self.extra = extra
        super().__init__(self.detail)


class Conflict(ApplicationError):
    """409: the state of things forbids it now; `conflicts` (and for bookings `suggestions`) say what to do."""

    status = 409
    default_detail = "Conflict."


class PreconditionFailed(ApplicationError):
    """412: the If-Match version is stale; `current` carries the server's document and version."""

    status = 412
    default_detail = "The document changed since you loaded it."


class PreconditionRequired(ApplicationError):
    """428: a write that could overwrite someone's work came without If-Match."""

    status = 428
    default_detail = "Send If-Match with the version you edited."


def field_errors(error: ValidationError) -> dict[str, list[str]]:
    """A ValidationError as field → messages; errors of no field under `non_field_errors` (as DRF's)."""
    if hasattr(error, "error_dict"):
        return {str(field): [str(m) for m in messages] for field, messages in error.message_dict.items()}
    return {"non_field_errors": [str(m) for m in error.messages]}
