"""OpenAPI description of Atelier's own authentication class (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "portal.accounts.auth.TokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A personal token from your profile page: `Authorization: Token atl_…`.",
        }


ERROR_SCHEMA = {
    "type": "object",
    "description": "Every refusal (docs/decisions.md §3); 409, 412 and 413 add their extension keys.",
    "properties": {
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["detail", "errors"],
    "additionalProperties": True,
}
REFUSALS = {
    "400": "Bad input: `errors` names each parameter or field.",
    "401": "No valid credentials.",
    "403": "Signed in and allowed to see it, but your role may not change it (docs/decisions.md §2).",
    "404": "No such thing, or not yours to see (never 403, so ids do not leak); or no such page.",
    "409": "It clashes with the current state: `conflicts` names what is in the way (for bookings "
    "`suggestions` gives free windows).",
    "412": "`If-Match` names an old version: `current` holds the server's document and version.",
    "413": "The body is larger than allowed: `limit` gives the most bytes allowed.",
    "415": "The body is not JSON, a form or multipart.",
    "428": "`If-Match` is required: send the version you edited.",
    "429": "Too many requests for your token or address: `Retry-After` says when to try again.",
    "503": "The database is out of reach or every connection is busy: `Retry-After` says when to try again.",
}
# The refusals only some operations can answer: the services behind them raise portal.errors'
# Conflict (409), PreconditionFailed (412) and PreconditionRequired (428).
STATE_REFUSALS = {
    "v1_bookings_create": ("409",),
    "v1_bookings_partial_update": ("409",),
    "v1_reservations_create": ("409",),
    "v1_reservations_partial_update": ("409",),
    "v1_tasks_annotation_update": ("409", "412", "428"),
    "v1_tasks_submit_create": ("409", "412"),
    "v1_tasks_review_create": ("409",),
    "v1_models_versions_destroy": ("409",),
}


def document_refusals(result, generator, request, public):
    """Postprocessing hook: every operation documents the refusals the API's global layer can answer
    (portal/api/errors.py, portal/views.py) in the one error shape, beside those it documents itself."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    components["responses"] = {
        f"Refused{code}": {"description": why, "content": error} for code, why in REFUSALS.items()
    }
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            for code in _refusals_of(path, method, operation):
                operation["responses"].setdefault(code, {"$ref": f"#/components/responses/Refused{code}"})
    return result


def _refusals_of(path: str, method: str, operation: dict) -> list[str]:
    paged = any(p.get("name") in ("page", "cursor") for p in operation.get("parameters", []))
    with_body = method in ("post", "put", "patch")
    changes = method in ("post", "put", "patch", "delete")
    return (
        ["400", "401"]
        + (["403"] if changes else [])
        + (["404"] if "{" in path or paged else [])
        + (["413", "415"] if with_body else [])
        + list(STATE_REFUSALS.get(operation.get("operationId"), ()))
        + ["429", "503"]
    )
