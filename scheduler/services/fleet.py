"""The GPU inventory as the node agents report it.

A GPU is keyed by its UUID. A new UUID appears as a new GPU; a GPU that vanishes from its node's
reading, or reads GPU_IS_LOST, becomes lost and is never deleted (bookings, jobs and telemetry refer
to it). A host that comes back under a new name with all of its GPUs is the same node renamed.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from scheduler.gpu.backends import GpuReading, NodeReading
from scheduler.models import Gpu, GpuState, Node

UNKNOWN_MODEL = "unknown"
_GPU_FIELDS = ["node", "index", "model", "memory_total_mb", "mig_mode", "state", "last_seen"]


@dataclass(frozen=True)
class SyncedNode:
    node: Node
    gpu_ids: dict[str, int]  # uuid -> Gpu.id, every GPU of the reading that has a UUID


def inventory_sync(*, reading: NodeReading, node_name: str | None = None, now: datetime | None = None) -> SyncedNode:
    """Make the stored inventory of one node match its reading; write only what changed.

    Two writers may sync the same new node at once (the agent's first tick and `make run`'s demo
    seed): the second one's insert then fails on the unique name or UUID once the first commits, and
    one more try finds the rows the first one wrote.
    """
    now = now or timezone.now()
    try:
        return _inventory_sync_once(reading=reading, node_name=node_name, now=now)
    except IntegrityError:
        return _inventory_sync_once(reading=reading, node_name=node_name, now=now)


@transaction.atomic
def _inventory_sync_once(*, reading: NodeReading, node_name: str | None, now: datetime) -> SyncedNode:
    node = _node_for(name=node_name or reading.hostname, reading=reading)
    _node_update(node=node, reading=reading)
    if reading.error is not None:
        # A node whose GPUs could not be counted says nothing about which exist: leave them be.
        return SyncedNode(node=node, gpu_ids=dict(node.gpus.values_list("uuid", "id")))
    readable = [gpu for gpu in reading.gpus if gpu.uuid is not None]  # lost before ever read: no key
    gpu_ids = _gpus_upsert(node=node, readings=readable, now=now)
    node.gpus.exclude(uuid__in=list(gpu_ids)).exclude(state=GpuState.LOST).update(state=GpuState.LOST)
    return SyncedNode(node=node, gpu_ids=gpu_ids)


def _node_for(*, name: str, reading: NodeReading) -> Node:
    node = Node.objects.filter(name=name).first()
    if node is not None:
        return node
    renamed = _renamed_node(reading=reading)
    if renamed is not None:
        renamed.name = name
        renamed.save(update_fields=["name"])
        return renamed
    return Node.objects.create(
        name=name, hostname=reading.hostname, backend=reading.backend, simulated=reading.simulated
    )


def _renamed_node(*, reading: NodeReading) -> Node | None:
    """The node these GPUs were on, if all of its live GPUs moved here together (a host rename).

    GPUs moved one by one to a new host leave the old node in place; they simply change node.
    """
    uuids = {gpu.uuid for gpu in reading.gpus if gpu.uuid is not None}
    owners = set(Gpu.objects.filter(uuid__in=uuids).values_list("node_id", flat=True))
    if len(owners) != 1:
        return None
    node = Node.objects.get(pk=owners.pop())
    live = set(node.gpus.exclude(state=GpuState.LOST).values_list("uuid", flat=True))
    return node if live <= uuids else None


def _node_update(*, node: Node, reading: NodeReading) -> None:
    values = {
        "hostname": reading.hostname,
        "backend": reading.backend,
        "simulated": reading.simulated,
        "driver_version": reading.driver_version or node.driver_version,
        "last_error": (reading.error or "")[:500],
    }
    changed = [field for field, value in values.items() if getattr(node, field) != value]
    for field in changed:
        setattr(node, field, values[field])
    if changed:
        node.save(update_fields=changed)


def _gpus_upsert(*, node: Node, readings: list[GpuReading], now: datetime) -> dict[str, int]:
    existing = {gpu.uuid: gpu for gpu in Gpu.objects.filter(uuid__in=[r.uuid for r in readings])}
    created, changed = [], []
    for reading in readings:
        gpu = existing.get(reading.uuid)
        if gpu is None:
            created.append(_gpu_new(node=node, reading=reading, now=now))
        elif _gpu_apply(gpu, node=node, reading=reading, now=now):
            changed.append(gpu)
    Gpu.objects.bulk_create(created)
    Gpu.objects.bulk_update(changed, _GPU_FIELDS)
    return dict(Gpu.objects.filter(uuid__in=[r.uuid for r in readings]).values_list("uuid", "id"))


def _gpu_new(*, node: Node, reading: GpuReading, now: datetime) -> Gpu:
    return Gpu(
        node=node,
        index=reading.index,
        uuid=reading.uuid,
        model=reading.name or UNKNOWN_MODEL,
        memory_total_mb=reading.memory_total_mb or 0,
        mig_mode=reading.mig_mode,
        state=GpuState.LOST if reading.lost else GpuState.AVAILABLE,
        last_seen=None if reading.lost else now,
    )


def _gpu_apply(gpu: Gpu, *, node: Node, reading: GpuReading, now: datetime) -> bool:
    """Copy what the reading knows onto the row; True when something changed."""
    before = tuple(getattr(gpu, field) for field in _GPU_FIELDS if field != "last_seen")
    gpu.node, gpu.index = node, reading.index
    if not reading.lost:
        gpu.model = reading.name or gpu.model
        gpu.memory_total_mb = reading.memory_total_mb or gpu.memory_total_mb
        gpu.mig_mode = reading.mig_mode
        gpu.last_seen = now
    gpu.state = gpu_state_after(current=gpu.state, drain_reason=gpu.drain_reason, lost=reading.lost)
    return before != tuple(getattr(gpu, field) for field in _GPU_FIELDS if field != "last_seen")


def gpu_state_after(*, current: str, drain_reason: str, lost: bool) -> str:
    """Lost wins while it lasts; a GPU that comes back returns to drained if it was drained."""
    if lost:
        return GpuState.LOST
    if current == GpuState.LOST:
        return GpuState.DRAINED if drain_reason else GpuState.AVAILABLE
    return current
