from django.db import models


class Heartbeat(models.Model):
    """The last sign of life of a long-running process: `beat`, `worker:<hostname>`, `agent:<node>`."""

    name = models.CharField(max_length=200, unique=True)
    last_seen = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen:%H:%M:%S}"
