"""Pages of the GPU side. Each renders what the scheduler's selectors return."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.timezone import localtime
from django.views.decorators.http import require_POST

from portal.errors import Conflict
from scheduler import access
from scheduler.durations import format_duration
from scheduler.ical import bookings_to_ical
from scheduler.models import BookingState
from scheduler.selectors import bookings as selectors
from scheduler.services import bookings as booking_services
from scheduler.services import calendar_feed
from scheduler.wallclock import InstantError, wall_clock_parse


@login_required
def booking_timeline(request):
    now = timezone.now()
    teams = [{"id": t.pk, "name": t.name} for t in selectors.booking_teams_of(request.user)]
    page = {
        "resources": selectors.timeline_resources(),
        "user": {"id": request.user.pk, "username": request.user.username, "time_zone": request.user.time_zone},
        "teams": teams,
        "api": {
            "bookings": reverse("api-bookings"),
            "availability": reverse("api-availability"),
            "usage": "/api/v1/teams/{team}/quota/usage/",
        },
        "jobs": selectors.job_windows_for_timeline(
            viewer=request.user, since=now - timedelta(days=1), until=now + timedelta(days=14)
        ),
    }
    return render(request, "scheduler/booking_timeline.html", {"page_data": page, "has_gpus": bool(page["resources"])})


@login_required
def my_bookings(request):
    feed = calendar_feed.feed_ensure(user=request.user)
    feed_url = request.build_absolute_uri(reverse("booking-feed", args=[feed.token]))
    bookings = selectors.bookings_of(user=request.user)
    context = {"bookings": bookings, "feed_url": feed_url, "now": timezone.now()}
    return render(request, "scheduler/my_bookings.html", context)


@login_required
@require_POST
def booking_change_end(request, pk: int):
    """Extend or shorten from "My bookings": a new end, wall-clock in the person's zone."""
    booking = access.access_booking_to_change(request.user, pk)
    try:
        end = wall_clock_parse(request.POST.get("end_local", ""), zone=ZoneInfo(request.user.time_zone))
        updated = booking_services.booking_update(
            booking=booking, by=request.user, change=booking_services.Change(end=end)
        )
    except InstantError as exc:
        messages.error(request, f"Booking #{pk}: the new end {exc}")
    except (ValidationError, Conflict) as exc:
        messages.error(request, f"Booking #{pk}: {' '.join(_messages_of(exc))}")
    else:
        messages.success(request, f"Booking #{pk} now ends {localtime(updated.end):%Y-%m-%d %H:%M}.")
    return redirect("my-bookings")


@login_required
@require_POST
def booking_cancel_page(request, pk: int):
    booking = access.access_booking_to_change(request.user, pk)
    try:
        booking_services.booking_cancel(booking=booking, by=request.user)
    except ValidationError as exc:
        messages.error(request, f"Booking #{pk}: {' '.join(_messages_of(exc))}")
    else:
        messages.success(request, f"Booking #{pk} cancelled; its GPUs are free again.")
    return redirect("my-bookings")


@login_required
def booking_release_page(request, pk: int):
    """ "Release the rest": where an idle notification leads the owner and the team's admins. GET shows
    the booking; POST ends it now."""
    booking = access.access_booking_to_change(request.user, pk)
    if request.method == "POST":
        try:
            booking = booking_services.booking_release(booking=booking, by=request.user)
        except ValidationError as exc:
            messages.error(request, f"Booking #{pk}: {' '.join(_messages_of(exc))}")
        else:
            messages.success(request, f"Booking #{pk} released: it ended {localtime(booking.end):%Y-%m-%d %H:%M}.")
        return redirect("booking-release", pk=pk)
    now = timezone.now()
    running = booking.state == BookingState.ACTIVE and booking.start <= now < booking.end
    context = {
        "booking": booking,
        "running": running,
        "rest": format_duration((booking.end - now).total_seconds(), words=True) if running else None,
        "not_running": _not_running(booking, now=now),
        "idle_for": _idle_for(booking, now=now),
        "is_owner": booking.user_id == request.user.pk,
    }
    return render(request, "scheduler/booking_release.html", context)


def _not_running(booking, *, now) -> str:
    if booking.state == BookingState.CANCELLED:
        return booking_services.CANCELLED
    return booking_services.ENDED if booking.end <= now else booking_services.NOT_STARTED


def _idle_for(booking, *, now) -> str | None:
    """How long a flagged booking has been idle, in words; None when it is not flagged."""
    if booking.idle_flagged_at is None or booking.idle_since is None:
        return None
    return format_duration((min(now, booking.end) - booking.idle_since).total_seconds(), words=True)


def _messages_of(exc) -> list[str]:
    return exc.messages if isinstance(exc, ValidationError) else [exc.detail]


@login_required
@require_POST
def feed_regenerate(request):
    calendar_feed.feed_regenerate(user=request.user)
    return redirect("my-bookings")


def booking_feed(request, token: str):
    """No login: calendar apps cannot sign in. The secret token in the URL is the credential."""
    user, bookings = selectors.feed_bookings(token=token)
    if user is None:
        raise Http404("No such feed.")
    body = bookings_to_ical(bookings=bookings, host=request.get_host())
    return HttpResponse(body, content_type="text/calendar; charset=utf-8")
