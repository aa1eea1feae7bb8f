"""Which worker serves a node: one at a time (docs/deployment.md "Node roles").

Two workers consuming one node's queue would both take its jobs, and each one's orphan sweep would
see the other's process groups as nobody's. Each node worker therefore says, on every heartbeat
tick, which nodes it serves from which host (`node-worker:<node>` heartbeat rows); a worker about to
start for a node that a live worker on another host serves refuses to start. The same host may start
at once: that is a restart (the previous process's row is still fresh for a few seconds), and its
leftover process groups are the orphan sweep's.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from portal.ops.models import Heartbeat
from portal.ops.services import heartbeat_record
from scheduler.execution.ownership import worker_identity

HEARTBEAT_PREFIX = "node-worker:"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NodeServer:
    node: str
    host: str
    instance: str
    last_seen: datetime


def node_worker_heartbeat_name(node: str) -> str:
    return f"{HEARTBEAT_PREFIX}{node}"


def node_serving_live_after() -> timedelta:
    """A serving row older than this is a worker gone: as for /healthz, max(3 intervals, 15 s)."""
    return timedelta(
        seconds=max(
            settings.HEALTH_STALE_AFTER_INTERVALS * settings.WORKER_HEARTBEAT_INTERVAL,
            settings.HEALTH_MIN_STALE_SECONDS,
        )
    )


def node_serving_record() -> None:
    """Worker tick hook: this worker serves its nodes, from this host."""
    identity = worker_identity()
    for node in sorted(identity.nodes):
        heartbeat_record(
            name=node_worker_heartbeat_name(node), detail={"host": identity.host, "instance": identity.instance}
        )


def node_serving_clear(**_signal_kwargs) -> None:
    """On worker shutdown: forget the rows this worker wrote (another worker's are left alone)."""
    identity = worker_identity()
    names = [node_worker_heartbeat_name(node) for node in identity.nodes]
    try:
        Heartbeat.objects.filter(name__in=names, detail__instance=identity.instance).delete()
    except DatabaseError:  # the rows then age out within node_serving_live_after()
        log.warning("could not clear this worker's node-serving rows", exc_info=True)


def node_servers_elsewhere(*, nodes: list[str], host: str, now: datetime | None = None) -> list[NodeServer]:
    """Live workers on another host that serve any of these nodes."""
    since = (now or timezone.now()) - node_serving_live_after()
    rows = Heartbeat.objects.filter(
        name__in=[node_worker_heartbeat_name(node) for node in nodes], last_seen__gte=since
    ).order_by("name")
    servers = [
        NodeServer(
            node=row.name.removeprefix(HEARTBEAT_PREFIX),
            host=str(row.detail.get("host", "")),
            instance=str(row.detail.get("instance", "")),
            last_seen=row.last_seen,
        )
        for row in rows
    ]
    return [server for server in servers if server.host != host]
