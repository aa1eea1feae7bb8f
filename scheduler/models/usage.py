"""Live fair share's memory: what each user used within each team, decayed (docs/scheduling.md, "Live
fair share"). One row per (team, user), folded forward when an attempt ends or a booking has passed,
so a scheduling pass reads a few hundred rows, never the history behind them."""

from django.conf import settings
from django.db import models


class FairShareUsage(models.Model):
    """GPU-seconds a user held for a team, each contribution decayed with the scheduler's half-life
    from the instant it was recorded to `as_of`. A team's usage is the sum over its users' rows."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="fair_share_usage")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="fair_share_usage")
    gpu_seconds = models.FloatField(default=0)
    as_of = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="fair_share_usage_per_team_and_user")]

    def __str__(self) -> str:
        return f"{self.team_id}/{self.user_id}: {self.gpu_seconds:.0f} GPU-s as of {self.as_of:%Y-%m-%d %H:%M}"


class UsageDimension(models.TextChoices):
    SITE = "site", "Site"
    NODE = "node", "Node"
    GPU_MODEL = "gpu_model", "GPU model"
    TEAM = "team", "Team"
    USER = "user", "User"


class UsageHour(models.Model):
    """GPU time one scope held in one closed UTC hour, kept by beat (services.usage_totals) so that the
    reports (issue 24) add up a few hundred rows per scope and month instead of every occupancy row,
    idle period and booking behind them. One row per (dimension, key, team, hour): the site (key "",
    team 0: all teams), and per team that held GPUs in the hour, a node (key: its id), a GPU model (its
    name), the team itself (its id) and a user (their id); so a team admin's view of any of them sums
    their teams' rows only. `team_id` is a plain number, not a key: a closed hour's figures outlive rows."""

    hour = models.DateTimeField()
    dimension = models.CharField(max_length=10, choices=UsageDimension.choices)
    key = models.CharField(max_length=100, blank=True)
    team_id = models.IntegerField(default=0)
    job_seconds = models.FloatField(default=0)  # jobs outside bookings
    booked_seconds = models.FloatField(default=0)  # bookings, used or idle
    idle_seconds = models.FloatField(default=0)  # of booked_seconds: while the booking was idle

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dimension", "key", "hour", "team_id"], name="usage_hour_per_scope"),
        ]
        # Every team's rows of a range at once (the burn-down of the site); one scope's use the constraint's.
        indexes = [models.Index(fields=["dimension", "hour"], name="usage_hour_dimension_hour")]

    def __str__(self) -> str:
        return f"{self.dimension} {self.key or '-'} team {self.team_id} {self.hour:%Y-%m-%d %H:00}"


class BookingIdleHour(models.Model):
    """Idle reserved GPU-seconds of one booking on one node in one closed UTC hour, rolled by beat with
    that hour's UsageHour rows, so the idle bookings report ranks a month's bookings from these rows
    (one per idle booking-hour) instead of joining every idle period to its booking's occupancy. Plain
    numbers, not keys, as in UsageHour; the node's GPU model is kept so either scope reads them."""

    hour = models.DateTimeField()
    booking_id = models.IntegerField()
    team_id = models.IntegerField()
    user_id = models.IntegerField(null=True)
    node_id = models.IntegerField()
    gpu_model = models.CharField(max_length=100)
    idle_seconds = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["booking_id", "node_id", "gpu_model", "hour"], name="booking_idle_hour_per_node"
            )
        ]
        indexes = [models.Index(fields=["hour"], name="booking_idle_hour_hour")]

    def __str__(self) -> str:
        return f"booking {self.booking_id} node {self.node_id} {self.hour:%Y-%m-%d %H:00}: {self.idle_seconds:.0f} s"
