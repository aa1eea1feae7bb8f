"""Idle bookings: a running booking whose GPUs all stayed under the threshold (default 5 %) for the
whole idle period (default 2 h) is flagged once, and its owner notified. With auto-release on (off by
default) the rest of its window is freed at once.

Samples must cover the period (first within one sample gap of its start, last within one gap of now):
an agent that stopped reporting is not evidence of an idle GPU. Once flagged, a booking stays flagged;
its idle hours count from the start of the idle period that flagged it to its end.
"""
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.notifications.models import Notification
from portal.notifications.services import notification_send
from scheduler.models import Reservation, ReservationState
from scheduler.selectors.utilization import utilization_over
from scheduler.services.reservations import reservation_release_rest

IDLE_TITLE = "Your booking looks idle"
IDLE_BODY = "Your GPUs {gpus} stayed under {pct:g} % utilization for {hours:g} h. Release the booking if you no longer need it."
RELEASED_TITLE = "Your idle booking was released"
RELEASED_BODY = "Your GPUs {gpus} stayed under {pct:g} % utilization for {hours:g} h, so the rest of the booking was released."


def bookings_flag_idle(*, now: datetime | None = None) -> list[int]:
    """Flag every running booking that is idle now; returns the ids flagged by this call."""
    now = now or timezone.now()
    idle_for = timedelta(seconds=settings.BOOKING_IDLE_AFTER)
    running = Reservation.objects.filter(
        state=ReservationState.ACTIVE, idle_flagged_at__isnull=True, start__lte=now - idle_for, end__gt=now
    )
    flagged = []
    for booking in running.prefetch_related("gpus"):
        if booking_is_idle(booking=booking, start=now - idle_for, now=now):
            if _flag(booking=booking, idle_since=now - idle_for, now=now):
                flagged.append(booking.pk)
    return flagged


def booking_is_idle(*, booking: Reservation, start: datetime, now: datetime) -> bool:
    gap = timedelta(seconds=settings.BOOKING_IDLE_SAMPLE_GAP)
    threshold = settings.BOOKING_IDLE_UTILIZATION_PCT
    coverage = utilization_over(gpu_ids=[g.pk for g in booking.gpus.all()], start=start, end=now)
    return bool(coverage) and all(
        c.first is not None and c.first <= start + gap and c.last >= now - gap and c.peak_pct < threshold
        for c in coverage.values()
    )


def _flag(*, booking: Reservation, idle_since: datetime, now: datetime) -> bool:
    with transaction.atomic():
        # Compare-and-set: two overlapping beat runs flag (and notify) once.
        claimed = Reservation.objects.filter(pk=booking.pk, idle_flagged_at__isnull=True).update(idle_since=idle_since, idle_flagged_at=now)
        if not claimed:
            return False
        _notify(booking=booking, released=settings.BOOKING_IDLE_AUTO_RELEASE)
    if settings.BOOKING_IDLE_AUTO_RELEASE:
        reservation_release_rest(reservation=booking, now=now)
    return True


def _notify(*, booking: Reservation, released: bool) -> None:
    gpus = ", ".join(str(g) for g in booking.gpus.all())
    facts = {"gpus": gpus, "pct": settings.BOOKING_IDLE_UTILIZATION_PCT, "hours": settings.BOOKING_IDLE_AFTER / 3600}
    notification_send(
        user=booking.user,
        kind=Notification.Kind.BOOKING_RELEASED if released else Notification.Kind.BOOKING_IDLE,
        title=RELEASED_TITLE if released else IDLE_TITLE,
        body=(RELEASED_BODY if released else IDLE_BODY).format(**facts),
        url=reverse("my-bookings"),
    )
