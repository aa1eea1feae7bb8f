from django.conf import settings
from django.db import models


class Notification(models.Model):
    """Something a person should know: a job ended, a booking was flagged idle, work was rejected."""

    class Kind(models.TextChoices):
        JOB_ENDED = "job_ended", "Job ended"
        JOB_FAILED = "job_failed", "Job failed"
        BOOKING_IDLE = "booking_idle", "Booking flagged idle"
        BOOKING_RELEASED = "booking_released", "Booking released"
        BOOKING_DRAIN = "booking_drain", "Booking affected by a drain"
        WORK_REJECTED = "work_rejected", "Work rejected"
        WORK_ACCEPTED = "work_accepted", "Work accepted"
        MESSAGE = "message", "Message"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.title
