"""Runtime environments: where a job's `python` comes from (docs/jobs.md, "Runtime environments")."""

from django.db import models
from django.db.models import Q


class RuntimeEnvironment(models.Model):
    """A Python prefix (a venv or a conda env) and extra PATH entries, registered by site admins.

    A job names one; its runner puts `<python_prefix>/bin` and then `path_entries` first on PATH.
    A container image is a later kind of environment, not this one.
    """

    name = models.SlugField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    python_prefix = models.CharField(
        max_length=1000, help_text="Absolute path of a venv or conda env: it holds bin/python."
    )
    path_entries = models.TextField(
        blank=True, help_text="Extra directories put on PATH after the prefix's bin, one absolute path per line."
    )
    is_default = models.BooleanField(default=False, help_text="What a job runs in when it names no environment.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_environment")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def extra_path(self) -> list[str]:
        return [line.strip() for line in self.path_entries.splitlines() if line.strip()]
