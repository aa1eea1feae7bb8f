"""The Celery application: configured from Django settings (CELERY_*), tasks found in every app.

Two additions to what Celery and kombu bring (docs/jobs.md "When things fall over"):
- every worker's consumer ticks from its event loop (portal.ops.worker.ConsumerTick): the worker's
  heartbeat, and so /healthz, says whether it consumes;
- `redis://` URLs use kombu's Redis transport with the repair below.
"""

import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis
from kombu.transport.virtual import Empty

from portal.broker import install as install_atomic_filesystem_broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


class RedisChannel(kombu_redis.Channel):
    """kombu's Redis channel, whose close() survives a BRPOP that died with Redis (kombu 5.7.0, and
    upstream's main as of this writing, read the pending BRPOP reply first and let only `Empty` pass).

    When Redis goes away while this channel waits on BRPOP and another channel notices first (the
    worker's remote-control pub/sub), that read raises a connection error and close() stops before
    it marks the channel closed: the channel keeps its unacknowledged messages, kombu then detaches
    the transport from its connection, and Celery's final close of the lost connection tries to
    restore them through a new pool built from the detached transport. The AttributeError ("'NoneType'
    object has no attribute 'hostname'") is no connection error: the consumer died ("Unrecoverable
    error"), and its worker consumed nothing more. The reply is lost with the connection either way,
    so a connection error there is ignored and the channel closes as usual: it tries to restore its
    messages (they stay in Redis's unacked set, or went with a restart) and the consumer reconnects.
    """

    def close(self):
        if self._in_poll:
            try:
                self._brpop_read()
            except (Empty, *self.connection_errors):
                pass
        super().close()


class RedisTransport(kombu_redis.Transport):
    Channel = RedisChannel


install_atomic_filesystem_broker()
TRANSPORT_ALIASES["redis"] = TRANSPORT_ALIASES["rediss"] = "portal.celery:RedisTransport"
app = Celery("atelier")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.steps["consumer"].add("portal.ops.worker:ConsumerTick")
app.autodiscover_tasks()
