"""Immutable monthly figures (docs/reports.md "Monthly snapshots"): one `SnapshotMonth` per closed month,
its `SnapshotRow`s per team (the total) and per user in the team. Written once by
`portal.reports.snapshots.services.snapshots_take`; never changed or deleted (save refuses an update,
delete refuses, the managers refuse update and delete). Teams and users are plain ids with their names:
deleting one does not rewrite a past month."""

from django.conf import settings
from django.db import models

from portal.immutable import ImmutableModel

IMMUTABLE = "Monthly snapshots are immutable: a closed month's figures are never changed or deleted."


class SnapshotImmutable(Exception):
    pass


class Immutable(ImmutableModel):
    immutable_error = SnapshotImmutable
    immutable_message = IMMUTABLE

    class Meta:
        abstract = True


class SnapshotMonth(Immutable):
    """A closed month whose figures were taken; unique, so a second run (or a second beat) skips it."""

    month = models.DateField(unique=True, help_text="The first day of the month (site time zone).")
    taken_at = models.DateTimeField()
    start = models.DateTimeField(help_text="The month's first instant (UTC), midnight in the site zone.")
    end = models.DateTimeField(help_text="The next month's first instant (UTC): nothing after it counts.")
    time_zone = models.CharField(max_length=64)

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"


class SnapshotRow(Immutable):
    """A team's total (`user` empty, `is_team_total`), or one user's figures in the team (a job row
    without a user reads as "(jobs)", as in the live report)."""

    snapshot = models.ForeignKey(SnapshotMonth, on_delete=models.DO_NOTHING, related_name="rows")
    team = models.ForeignKey("teams.Team", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    team_name = models.CharField(max_length=100)
    is_team_total = models.BooleanField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    username = models.CharField(max_length=150, blank=True)
    # "team", "user:<id>" or "user:-" (job rows without a user): unique per month and team.
    row_key = models.CharField(max_length=40)
    reserved_gpu_hours = models.FloatField()
    used_gpu_hours = models.FloatField()
    idle_gpu_hours = models.FloatField()
    quota_gpu_hours = models.FloatField(help_text="The team's monthly quota when the snapshot was taken.")

    class Meta:
        ordering = ["snapshot", "team_name", "-is_team_total", "username"]
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "team", "row_key"], name="snapshotrow_unique_per_month")
        ]

    def __str__(self) -> str:
        return f"{self.snapshot} {self.team_name} {self.username or '(team total)'}"
