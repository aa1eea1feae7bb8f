"""Pages of portal itself: home, profile with API tokens, teams, notifications, and /healthz."""

import sys
from http import HTTPStatus

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from psycopg_pool import PoolTimeout

from portal.accounts import selectors as account_selectors
from portal.accounts import services as account_services
from portal.body_limit import TOO_LARGE
from portal.errors import ApplicationError
from portal.inputs import NUL_BYTE
from portal.notifications import selectors as notification_selectors
from portal.notifications import services as notification_services
from portal.ops.health import health_report
from portal.teams import access as team_access


@require_GET
@never_cache
def healthz(request):
    healthy, components = health_report()
    return JsonResponse(
        {"status": "ok" if healthy else "unhealthy", "components": components}, status=200 if healthy else 503
    )


@login_required
def home(request):
    return redirect("gpu-board")


@login_required
def profile(request):
    created_secret = None
    if request.method == "POST":
        created_secret = _profile_post(request)
    context = {
        "tokens": account_selectors.api_tokens_of(user=request.user),
        "created_secret": created_secret,
        "time_zones": _common_time_zones(),
        "token_max_days": settings.API_TOKEN_MAX_DAYS,
    }
    return render(request, "portal/profile.html", context)


def _profile_post(request) -> str | None:
    try:
        if request.POST.get("action") == "time_zone":
            account_services.user_update_time_zone(user=request.user, time_zone=request.POST.get("time_zone", ""))
            messages.success(request, "Time zone saved.")
            return None
        days = request.POST.get("expires_in_days") or settings.API_TOKEN_MAX_DAYS
        token, secret = account_services.api_token_create(
            user=request.user, name=request.POST.get("name", ""), expires_in_days=int(days)
        )
        messages.success(request, f"Token “{token.name}” created. Copy it now: it will not be shown again.")
        return secret
    except (ValidationError, ValueError) as exc:
        messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
        return None


def _common_time_zones() -> list[str]:
    import zoneinfo

    return sorted(zoneinfo.available_timezones())


@login_required
@require_POST
def token_revoke(request, key: str):
    token = account_selectors.api_token_of_user(user=request.user, key=key)
    account_services.api_token_revoke(token=token, by=request.user)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("profile")


LOGIN_LOCKED = (
    "Too many failed logins for this account or from this address: logging in is locked for "
    "{minutes} minutes. Try again later, or ask an admin to unlock it."
)


def login_locked(request, original_response=None, credentials=None):
    """django-axes' lockout answer, for the site's login and the admin's: 429 with Retry-After."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    message = LOGIN_LOCKED.format(minutes=max(1, round(seconds / 60)))
    response = render(request, "portal/login_locked.html", {"message": message}, status=HTTPStatus.TOO_MANY_REQUESTS)
    response["Retry-After"] = str(seconds)
    return response


@login_required
def team_list(request):
    teams = team_access.teams_visible_to(request.user).prefetch_related("memberships__user")
    return render(request, "portal/team_list.html", {"teams": teams})


@login_required
def team_detail(request, pk: int):
    team = team_access.access_team_for_user(request.user, pk)
    memberships = team.memberships.select_related("user")
    return render(request, "portal/team_detail.html", {"team": team, "memberships": memberships, "quota": team.quota})


@login_required
def notification_list(request):
    if request.method == "POST":
        notification_services.notifications_mark_read(user=request.user)
        return redirect("notifications")
    notifications = notification_selectors.notifications_of(user=request.user)[:200]
    return render(request, "portal/notification_list.html", {"notifications": notifications})


# -- errors ---------------------------------------------------------------------------------------

DATABASE_UNAVAILABLE = "The database is unreachable for a moment; nothing was changed. Try again shortly."
DATABASE_BUSY = "The portal is answering as many requests as it can; nothing was changed. Try again shortly."
SERVER_ERROR = "The portal could not answer this request; nothing was changed by it."
RETRY_AFTER_SECONDS = 5
NOT_FOUND = "Not found."
BAD_REQUEST = "The request could not be read: {reason}"
FORBIDDEN = "You do not have permission to perform this action."


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _api_error(status: int, detail: str, **extra) -> JsonResponse:
    return JsonResponse({"detail": detail, "errors": {}, **extra}, status=status)


def bad_request(request, exception):
    """handler400: what Django refuses before any view runs (a body past DATA_UPLOAD_MAX_MEMORY_SIZE, too
    many fields, a malformed multipart body). Under /api/ the error shape, an oversize body a 413 with its
    `limit`; elsewhere Django's page."""
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return _api_error(413, TOO_LARGE.format(limit=limit), limit=limit)
    return _api_error(400, BAD_REQUEST.format(reason=exception or "malformed."))


def permission_denied(request, exception):
    if not _is_api(request):
        return defaults.permission_denied(request, exception)
    return _api_error(403, str(exception) or FORBIDDEN)


def page_not_found(request, exception):
    """handler404: under /api/ (an unknown route, an id that is not a number) the error shape."""
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return _api_error(404, NOT_FOUND)


def server_error(request):
    """handler500: an outage of the database is a 503 (Retry-After), anything else a 500; in the
    API's error shape under /api/, a page in the site's frame elsewhere. Django calls it inside its
    `except` block, so the exception is at hand."""
    exc = sys.exc_info()[1]
    unavailable = isinstance(exc, (OperationalError, InterfaceError))
    # Every connection of this process's pool stayed taken for the pool's timeout (settings.py):
    # Django wraps psycopg_pool's PoolTimeout in its OperationalError.
    busy = unavailable and isinstance(exc.__cause__, PoolTimeout)
    status = 503 if unavailable else 500
    detail = (DATABASE_BUSY if busy else DATABASE_UNAVAILABLE) if unavailable else SERVER_ERROR
    if _is_api(request):
        response = _api_error(status, detail)
    else:
        # No request context: rendering it may need the very database that is gone.
        template = loader.get_template("503.html" if unavailable else "500.html")
        response = HttpResponse(template.render({"busy": busy}), status=status)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class RefusalPages:
    """Pages' half of portal.errors: a refusal that a page view does not show as a form error itself
    (a ValidationError, a 409, a 412, …) is a page in the site's frame with its status, never a 500.
    403 and 404 are Django's own handlers (templates/403.html, 404.html). DRF views answer their
    exceptions before any middleware sees them (portal.api.errors); under /api/ nothing else is left."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if request.path.startswith("/api/"):
            return None
        if isinstance(exception, ApplicationError):
            status, reasons = exception.status, [exception.detail]
        elif isinstance(exception, ValidationError):
            status, reasons = getattr(exception, "status", 400), exception.messages
        else:
            return None
        context = {"title": HTTPStatus(status).phrase, "reasons": reasons}
        return render(request, "refused.html", context, status=status)


class RefuseNulBytes:
    """A NUL byte in a query parameter is a 400 naming it, on every page and API route alike: PostgreSQL
    refuses to compare text holding one (a 500 otherwise), and no parameter here has a use for it.
    Bodies go through forms and serializers, whose text fields refuse NUL bytes themselves."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = next((key for key, values in request.GET.lists() if "\x00" in key + "".join(values)), None)
        if name is None:
            return self.get_response(request)
        name = name.replace("\x00", "\\0")
        if _is_api(request):
            return JsonResponse({"detail": f"{name}: {NUL_BYTE}", "errors": {name: [NUL_BYTE]}}, status=400)
        context = {"title": HTTPStatus(400).phrase, "reasons": [f"{name}: {NUL_BYTE}"]}
        return render(request, "refused.html", context, status=400)
