"""Attribute GPU processes to job attempts and flag the ones the scheduler cannot account for.

Pure function over plain data: the caller passes NVML readings, the scheduler's own
bookkeeping (running attempts, their node, GPUs, and known pids or process group) and, for each
listed pid, where it comes from (its session and process group, read by the agent from
``/proc/<pid>/stat``). The scheduler trusts its bookkeeping and checks it against NVML, so:

- a process no running attempt owns is ``UNOWNED`` (a stray notebook, a zombie of a finished
  job still holding memory, someone else's process on a booked GPU);
- an attempt's process on a GPU not allocated to it is ``WRONG_GPU`` (it ignored
  ``CUDA_VISIBLE_DEVICES``);
- a pid the agent cannot see (NVML lists the host's pids; an agent in another pid namespace does
  not have them in its ``/proc``) is *unmatched*: said so, not flagged, as nothing is known of it.

A job runs in a session of its own (its runner starts it with ``setsid``), so every process it
starts (children, grandchildren, torchrun workers, data loaders) shares its session, and its group
unless it made one of its own. The attempt's environment marker, where readable, guards against a
recycled session id.

Pids are per node, so attempts only match processes in the reading of their own node (a
reading's ``hostname`` is the node's name: the inventory names nodes by it), never by the host
name the worker runs on: two emulated nodes may share a host, and simulated nodes have none.
A GPU whose process list is unknown (``processes is None``) or that is lost
yields no attributions: no information is not evidence of a rogue.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .backends.base import GpuReading, NodeReading, ProcessReading

AttemptId = int | str
UNKNOWN = "unknown"
UNMATCHED = "unmatched"  # the owner stored for a pid the agent cannot see


class RogueReason(enum.Enum):
    UNOWNED = "no running job owns this process"
    WRONG_GPU = "the job's process runs on a GPU not allocated to it"


@dataclass(frozen=True, slots=True)
class RunningAttempt:
    """The scheduler's view of one running attempt.

    ``pids`` are processes the runner knows (its child); ``process_group`` matches the
    children it spawned in turn (torchrun workers, dataloaders), which NVML lists by their own pid.
    """

    attempt_id: AttemptId
    node: str
    gpu_uuids: frozenset[str]
    pids: frozenset[int] = frozenset()
    process_group: int | None = None
    job_id: int | None = None  # shown on the board with the job's user
    user: str = ""


@dataclass(frozen=True, slots=True)
class ProcessOrigin:
    """Where a pid comes from on its node: its session and process group (``/proc/<pid>/stat``,
    which any user may read) and its attempt marker (``ATELIER_ATTEMPT_ID`` in ``/proc/<pid>/environ``),
    or None where the environment is not readable (another user's process)."""

    session: int
    group: int
    marker: str | None = None


@dataclass(frozen=True, slots=True)
class ProcessAttribution:
    host: str
    gpu_uuid: str | None
    gpu_index: int
    pid: int
    used_memory_mb: int | None
    attempt_id: AttemptId | None
    rogue: RogueReason | None
    job_id: int | None = None
    user: str = ""
    unmatched: bool = False  # the agent cannot see this pid: neither owned nor flagged

    @property
    def owner(self) -> AttemptId | str:
        """The attempt id, or "unknown" as stored with process snapshots."""
        return UNKNOWN if self.attempt_id is None else self.attempt_id


def attribute_processes(
    *,
    nodes: Iterable[NodeReading],
    attempts: Iterable[RunningAttempt],
    origins: Mapping[tuple[str, int], ProcessOrigin | None] | None = None,
) -> tuple[ProcessAttribution, ...]:
    """One attribution per process seen on a readable GPU, rogue ones flagged.

    ``origins`` maps ``(node, pid)`` to where the pid comes from, read by the agent on that node;
    a pid missing from it, or mapped to None, is not visible to the agent. Omit it (None) where
    only the attempts' own pids are to be matched.
    """
    by_node = _attempts_by_node(attempts)
    found: list[ProcessAttribution] = []
    for node in nodes:
        owners = by_node.get(node.hostname, ())
        for gpu in node.gpus:
            if gpu.lost or gpu.processes is None:
                continue
            found.extend(
                _attribute(node.hostname, gpu, process, owners=owners, origins=origins) for process in gpu.processes
            )
    return tuple(found)


def rogue_processes(attributions: Iterable[ProcessAttribution]) -> tuple[ProcessAttribution, ...]:
    return tuple(attribution for attribution in attributions if attribution.rogue is not None)


def _attempts_by_node(attempts: Iterable[RunningAttempt]) -> dict[str, tuple[RunningAttempt, ...]]:
    grouped: dict[str, list[RunningAttempt]] = {}
    for attempt in attempts:
        grouped.setdefault(attempt.node, []).append(attempt)
    return {node: tuple(found) for node, found in grouped.items()}


def _attribute(
    host: str,
    gpu: GpuReading,
    process: ProcessReading,
    *,
    owners: tuple[RunningAttempt, ...],
    origins: Mapping[tuple[str, int], ProcessOrigin | None] | None,
) -> ProcessAttribution:
    pid = process.pid
    origin = None if origins is None else origins.get((host, pid))
    owner = _owner_of(pid, gpu_uuid=gpu.uuid, origin=origin, candidates=owners)
    unmatched = owner is None and origins is not None and origin is None
    return ProcessAttribution(
        host=host,
        gpu_uuid=gpu.uuid,
        gpu_index=gpu.index,
        pid=pid,
        used_memory_mb=process.used_memory_mb,
        attempt_id=None if owner is None else owner.attempt_id,
        rogue=None if unmatched else _rogue_reason(owner, gpu_uuid=gpu.uuid),
        job_id=None if owner is None else owner.job_id,
        user="" if owner is None else owner.user,
        unmatched=unmatched,
    )


def _owner_of(
    pid: int, *, gpu_uuid: str | None, origin: ProcessOrigin | None, candidates: tuple[RunningAttempt, ...]
) -> RunningAttempt | None:
    matches = [attempt for attempt in candidates if _owns(attempt, pid=pid, origin=origin)]
    # Two claimants means stale bookkeeping; prefer the one this GPU is allocated to.
    matches.sort(key=lambda attempt: gpu_uuid not in attempt.gpu_uuids)
    return matches[0] if matches else None


def _owns(attempt: RunningAttempt, *, pid: int, origin: ProcessOrigin | None) -> bool:
    if pid in attempt.pids:
        return True
    if origin is None or attempt.process_group is None:
        return False
    if attempt.process_group not in (origin.session, origin.group):
        return False
    return origin.marker is None or origin.marker == str(attempt.attempt_id)


def _rogue_reason(owner: RunningAttempt | None, *, gpu_uuid: str | None) -> RogueReason | None:
    if owner is None:
        return RogueReason.UNOWNED
    if gpu_uuid not in owner.gpu_uuids:
        return RogueReason.WRONG_GPU
    return None


__all__ = [
    "UNKNOWN",
    "UNMATCHED",
    "ProcessAttribution",
    "ProcessOrigin",
    "RogueReason",
    "RunningAttempt",
    "attribute_processes",
    "rogue_processes",
]
