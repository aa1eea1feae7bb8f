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
