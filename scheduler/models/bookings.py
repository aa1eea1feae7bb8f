"""Bookings and the per-GPU occupancy table (docs/decisions.md §4).

A Booking is what a person booked (who, team, note, window, which GPUs). The GPUs are held by
GpuOccupancy rows, one per GPU and window: the single table that bookings and jobs outside bookings
both write, so that "no GPU held twice at overlapping times" is one invariant over one table. On
PostgreSQL an exclusion constraint enforces it (migration 0002, PostgreSQL only); on SQLite the
IMMEDIATE transaction serialises writers and the service checks inside it.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from scheduler.models.fleet import Gpu


class BookingState(models.TextChoices):
    ACTIVE = "active", "Active"
    CANCELLED = "cancelled", "Cancelled"


class Booking(models.Model):
    """A booking of one or more GPUs for the half-open window [start, end), stored in UTC."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings")
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="bookings")
    gpus = models.ManyToManyField(Gpu, related_name="bookings")  # kept after cancel: the record stays whole
    note = models.TextField(blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    state = models.CharField(max_length=20, choices=BookingState.choices, default=BookingState.ACTIVE)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Idle tracking, the flag now: since when the GPUs are idle, and when the booking was flagged; both
    # cleared when its GPUs are busy again. Every flagged period stays in BookingIdlePeriod.
    idle_since = models.DateTimeField(null=True, blank=True)
    idle_flagged_at = models.DateTimeField(null=True, blank=True)
    idle_released_at = models.DateTimeField(null=True, blank=True)
    # When the GPU-hours it held went into fair share's usage table: once its window has passed
    # (a cancel or a release ends the window early). Until then the pass counts its elapsed part.
    usage_folded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start", "id"]
        indexes = [
            models.Index(fields=["team", "start"]),
            models.Index(fields=["user", "start"]),
            models.Index(fields=["end"]),
            # The bookings fair share has not folded yet: the live ones and those that just ended.
            models.Index(fields=["start"], condition=Q(usage_folded_at__isnull=True), name="booking_usage_unfolded"),
        ]
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="booking_end_after_start")]

    def __str__(self) -> str:
        return f"Booking {self.pk} by {self.user} [{self.start:%Y-%m-%d %H:%M}, {self.end:%Y-%m-%d %H:%M})"


class BookingIdlePeriod(models.Model):
    """One stretch during which a booking's GPUs sat idle, from the start of the idle period that got
    it flagged until its GPUs were seen busy again (null while still idle). The quota report counts
    reserved-but-idle GPU-hours over these; a booking flagged, busy, then flagged again has two."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="idle_periods")
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    flagged_at = models.DateTimeField()

    class Meta:
        ordering = ["booking", "start"]
        indexes = [models.Index(fields=["start"])]

    def __str__(self) -> str:
        return f"Booking {self.booking_id} idle from {self.start:%Y-%m-%d %H:%M}"


class OccupancyKind(models.TextChoices):
    BOOKING = "booking", "Booking"
    JOB = "job", "Job outside a booking"


class GpuOccupancy(models.Model):
    """One GPU held by a team for [start, end): by a booking, or by a job running outside any booking
    (its window is [start, start + time limit)). Rows never overlap on one GPU."""

    gpu = models.ForeignKey(Gpu, on_delete=models.PROTECT, related_name="occupancy")
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="gpu_occupancy")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="gpu_occupancy"
    )
    kind = models.CharField(max_length=20, choices=OccupancyKind.choices)
    start = models.DateTimeField()
    end = models.DateTimeField()
    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.CASCADE, related_name="occupancy")
    # The attempt whose GPU this is (a job running outside its team's booking); pages and 409s show its job.
    attempt = models.ForeignKey(
        "scheduler.Attempt", null=True, blank=True, on_delete=models.CASCADE, related_name="occupancy"
    )

    class Meta:
        indexes = [
            models.Index(fields=["gpu", "start"]),
            models.Index(fields=["gpu", "end"]),
            models.Index(fields=["team", "start"]),
            # The reports' live tail (the hours beat has not rolled yet): rows ending after an instant.
            models.Index(fields=["end"], name="occupancy_end"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="occupancy_end_after_start"),
            models.CheckConstraint(
                condition=(Q(kind="booking", booking__isnull=False) | Q(kind="job", attempt__isnull=False)),
                name="occupancy_kind_has_its_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gpu_id} {self.kind} [{self.start:%Y-%m-%d %H:%M}, {self.end:%Y-%m-%d %H:%M})"


def _feed_token() -> str:
    return secrets.token_urlsafe(32)


class CalendarFeed(models.Model):
    """A user's secret iCalendar feed URL; regenerating the token revokes the old URL."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    token = models.CharField(max_length=64, unique=True, default=_feed_token)
    created_at = models.DateTimeField(auto_now_add=True)
