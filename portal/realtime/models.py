from django.db import models


class Event(models.Model):
    """A realtime event, written in the transaction that caused it.

    The table is the delivery path in every mode: websocket consumers read rows after the last id
    they sent. Redis (service mode) only wakes them early, so a lost wake-up delays, never loses.
    """

    topic = models.CharField(max_length=100)
    kind = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["topic", "id"])]

    def __str__(self) -> str:
        return f"{self.id} {self.topic} {self.kind}"
