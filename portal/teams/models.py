from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    RESEARCHER = "researcher", "Researcher"
    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    TEAM_ADMIN = "team_admin", "Team admin"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A person in a team, with the roles they hold there (a person may hold several)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    is_researcher = models.BooleanField(default=False)
    is_annotator = models.BooleanField(default=False)
    is_reviewer = models.BooleanField(default=False)
    is_team_admin = models.BooleanField(default=False)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")]
        ordering = ["team__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"

    @property
    def roles(self) -> list[str]:
        return [role.value for role in Role if getattr(self, f"is_{role.value}")]


class TeamQuota(models.Model):
    """Limits a site admin sets for a team (docs/decisions.md §5). Usage is computed by the scheduler."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="quota")
    gpu_hours_per_month = models.DecimalField(max_digits=10, decimal_places=1, default=2000)
    max_concurrent_gpus = models.PositiveIntegerField(default=16)
    max_booking_hours = models.PositiveIntegerField(default=7 * 24)
    booking_horizon_days = models.PositiveIntegerField(default=30)
    guaranteed_gpus = models.PositiveIntegerField(default=4)
    borrow_limit_hours = models.DecimalField(max_digits=6, decimal_places=1, default=4)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Quota of {self.team}"
