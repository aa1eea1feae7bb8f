"""Idle bookings: a running booking whose GPUs all stayed under the threshold (default 5 %) for the
whole idle period (default 2 h) is flagged once, and its owner and the team's admins notified, with
a "Release the rest" link (the booking's release page). With auto-release on (off by default) the
rest of its window is freed at once.

Samples must cover the period (first within one sample gap of its start, last within one gap of now):
an agent that stopped reporting is not evidence of an idle GPU.

A flagged booking stays flagged while its GPUs stay idle. As soon as they are busy again (a sample at
or above the threshold on any of its GPUs, or a job running in the booking) the flag is cleared and
its idle period closed at that moment; it may be flagged again after another idle period. The quota
report counts its idle hours over those periods (BookingIdlePeriod), each to its close or to the
booking's end.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.urls import reverse
from django.utils import timezone

from portal.notifications.models import Notification
from portal.notifications.services import notification_send
from portal.teams.access import team_admins_of
from scheduler.durations import format_duration
from scheduler.models import Booking, BookingIdlePeriod, BookingState, GpuSample, Job, JobState
from scheduler.selectors.utilization import utilization_over
from scheduler.services.bookings import booking_changed_publish, booking_release_rest

IDLE_TITLE = "Your booking looks idle"
IDLE_BODY = (
    "Your GPUs {gpus} stayed under {pct:g} % utilization for {duration}. Release the rest if you no longer need it."
)
RELEASED_TITLE = "Your idle booking was released"
RELEASED_BODY = (
    "Your GPUs {gpus} stayed under {pct:g} % utilization for {duration}, so the rest of the booking was released."
)
# The team's admins hear of it too (issue 24): they answer for the team's quota.
TEAM_IDLE_TITLE = "A booking of {team} looks idle"
TEAM_IDLE_BODY = (
    "{owner}'s GPUs {gpus} stayed under {pct:g} % utilization for {duration}. "
    "Release the rest if the team no longer needs it."
)
TEAM_RELEASED_TITLE = "An idle booking of {team} was released"
TEAM_RELEASED_BODY = (
    "{owner}'s GPUs {gpus} stayed under {pct:g} % utilization for {duration}, so the rest of the booking was released."
)


def bookings_flag_idle(*, now: datetime | None = None) -> list[int]:
    """Flag every running booking that is idle now; returns the ids flagged by this call."""
    now = now or timezone.now()
    idle_for = timedelta(seconds=settings.BOOKING_IDLE_AFTER)
    running = Booking.objects.filter(
        state=BookingState.ACTIVE, idle_flagged_at__isnull=True, start__lte=now - idle_for, end__gt=now
    )
    flagged = []
    for booking in running.prefetch_related("gpus"):
        if booking_is_idle(booking=booking, start=now - idle_for, now=now):
            if _flag(booking=booking, idle_since=now - idle_for, now=now):
                flagged.append(booking.pk)
    return flagged


def bookings_clear_idle(*, now: datetime | None = None) -> list[int]:
    """Clear the flag of every flagged booking whose GPUs are busy again; returns the ids cleared."""
    now = now or timezone.now()
    flagged = (
        Booking.objects.filter(idle_flagged_at__isnull=False, idle_since__isnull=False)
        .exclude(state=BookingState.CANCELLED)
        .filter(end__gt=now - timedelta(seconds=settings.BOOKING_IDLE_SAMPLE_GAP))
    )
    cleared = []
    for booking in flagged.prefetch_related("gpus"):
        busy_at = booking_busy_at(booking=booking, now=now)
        if busy_at is not None and _clear(booking=booking, busy_at=busy_at):
            cleared.append(booking.pk)
    return cleared


def booking_job_started(*, booking_id: int, at: datetime) -> bool:
    """A job started in this booking: clear its idle flag at once rather than at the next check."""
    booking = Booking.objects.filter(pk=booking_id, idle_flagged_at__isnull=False).first()
    return booking is not None and _clear(booking=booking, busy_at=max(at, booking.idle_since or at))


def booking_busy_at(*, booking: Booking, now: datetime) -> datetime | None:
    """When the flagged booking's GPUs were first seen busy since its idle period began, or None.

    Samples from the whole idle period count, not only those after the flag: the agent writes in
    batches, so a busy sample may land after the check that flagged the booking.
    """
    threshold = settings.BOOKING_IDLE_UTILIZATION_PCT
    busy_sample = GpuSample.objects.filter(
        # Up to its end only: after a release (auto or by hand) the GPUs may serve someone else.
        gpu_id__in=[g.pk for g in booking.gpus.all()],
        at__gte=booking.idle_since,
        at__lte=min(now, booking.end),
        util_gpu_pct__gte=threshold,
    ).aggregate(at=Min("at"))["at"]
    job_started = Job.objects.filter(booking=booking, state=JobState.RUNNING).aggregate(at=Min("started_at"))["at"]
    if job_started is not None:
        job_started = max(job_started, booking.idle_since)  # a job that ran all along: busy since the flag
    found = [at for at in (busy_sample, job_started) if at is not None]
    return min(found) if found else None


def booking_is_idle(*, booking: Booking, start: datetime, now: datetime) -> bool:
    gap = timedelta(seconds=settings.BOOKING_IDLE_SAMPLE_GAP)
    threshold = settings.BOOKING_IDLE_UTILIZATION_PCT
    coverage = utilization_over(gpu_ids=[g.pk for g in booking.gpus.all()], start=start, end=now)
    return bool(coverage) and all(
        c.first is not None and c.first <= start + gap and c.last >= now - gap and c.peak_pct < threshold
        for c in coverage.values()
    )


def _flag(*, booking: Booking, idle_since: datetime, now: datetime) -> bool:
    with transaction.atomic():
        # Compare-and-set: two overlapping beat runs flag (and notify) once.
        claimed = Booking.objects.filter(pk=booking.pk, idle_flagged_at__isnull=True).update(
            idle_since=idle_since, idle_flagged_at=now
        )
        if not claimed:
            return False
        BookingIdlePeriod.objects.create(booking=booking, start=idle_since, flagged_at=now)
        _notify(booking=booking, released=settings.BOOKING_IDLE_AUTO_RELEASE)
        booking_changed_publish(booking=booking, action="idle")
    if settings.BOOKING_IDLE_AUTO_RELEASE:
        booking_release_rest(booking=booking, now=now)
    return True


def _clear(*, booking: Booking, busy_at: datetime) -> bool:
    with transaction.atomic():
        # Compare-and-set on the flag it was read with: a re-flag in between is left alone.
        cleared = Booking.objects.filter(pk=booking.pk, idle_flagged_at=booking.idle_flagged_at).update(
            idle_since=None, idle_flagged_at=None
        )
        if not cleared:
            return False
        BookingIdlePeriod.objects.filter(booking=booking, end__isnull=True).update(end=busy_at)
        booking_changed_publish(booking=booking, action="busy")
    return True


def _notify(*, booking: Booking, released: bool) -> None:
    """The owner and each of the team's admins (once, when the owner is one), each with the booking's
    release page: "Release the rest" there, or, once released, what is left of it."""
    facts = {
        "gpus": ", ".join(str(g) for g in booking.gpus.all()),
        "pct": settings.BOOKING_IDLE_UTILIZATION_PCT,
        "duration": format_duration(settings.BOOKING_IDLE_AFTER, words=True),
        "owner": booking.user.username,
        "team": booking.team.name,
    }
    kind = Notification.Kind.BOOKING_RELEASED if released else Notification.Kind.BOOKING_IDLE
    url = reverse("booking-release", args=[booking.pk])
    title, body = (RELEASED_TITLE, RELEASED_BODY) if released else (IDLE_TITLE, IDLE_BODY)
    notification_send(user=booking.user, kind=kind, title=title, body=body.format(**facts), url=url)
    title, body = (TEAM_RELEASED_TITLE, TEAM_RELEASED_BODY) if released else (TEAM_IDLE_TITLE, TEAM_IDLE_BODY)
    for admin in team_admins_of(booking.team_id).exclude(pk=booking.user_id):
        notification_send(user=admin, kind=kind, title=title.format(**facts), body=body.format(**facts), url=url)
