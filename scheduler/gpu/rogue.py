"""Attribute GPU processes to job attempts and flag the ones the scheduler cannot account for.

Pure function over plain data: the caller passes NVML readings and the scheduler's own
bookkeeping (running attempts, their node, GPUs, and known pids or process group). The
scheduler trusts its bookkeeping and checks it against NVML, so:

- a process no running attempt owns is ``UNOWNED`` (a stray notebook, a zombie of a finished
  job still holding memory, someone else's process on a booked GPU);
- an attempt's process on a GPU not allocated to it is ``WRONG_GPU`` (it ignored
  ``CUDA_VISIBLE_DEVICES``).

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

    @property
    def owner(self) -> AttemptId | str:
        """The attempt id, or "unknown" as stored with process snapshots."""
        return UNKNOWN if self.attempt_id is None else self.attempt_id


def attribute_processes(
    *,
    nodes: Iterable[NodeReading],
    attempts: Iterable[RunningAttempt],
    process_groups: Mapping[tuple[str, int], int] | None = None,
) -> tuple[ProcessAttribution, ...]:
    """One attribution per process seen on a readable GPU, rogue ones flagged.

    ``process_groups`` maps ``(host, pid)`` to the pid's process group id, read by the agent
    on that host (``os.getpgid``); omit it where the pids themselves are known.
    """
    by_node = _attempts_by_node(attempts)
    groups = process_groups or {}
    found: list[ProcessAttribution] = []
    for node in nodes:
        owners = by_node.get(node.hostname, ())
        for gpu in node.gpus:
            if gpu.lost or gpu.processes is None:
                continue
            found.extend(
                _attribute(node.hostname, gpu, process, owners=owners, groups=groups) for process in gpu.processes
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
    groups: Mapping[tuple[str, int], int],
) -> ProcessAttribution:
    pid = process.pid
    owner = _owner_of(pid, gpu_uuid=gpu.uuid, group=groups.get((host, pid)), candidates=owners)
    return ProcessAttribution(
        host=host,
        gpu_uuid=gpu.uuid,
        gpu_index=gpu.index,
        pid=pid,
        used_memory_mb=process.used_memory_mb,
        attempt_id=None if owner is None else owner.attempt_id,
        rogue=_rogue_reason(owner, gpu_uuid=gpu.uuid),
        job_id=None if owner is None else owner.job_id,
        user="" if owner is None else owner.user,
    )


def _owner_of(
    pid: int, *, gpu_uuid: str | None, group: int | None, candidates: tuple[RunningAttempt, ...]
) -> RunningAttempt | None:
    matches = [attempt for attempt in candidates if _owns(attempt, pid=pid, group=group)]
    # Two claimants means stale bookkeeping; prefer the one this GPU is allocated to.
    matches.sort(key=lambda attempt: gpu_uuid not in attempt.gpu_uuids)
    return matches[0] if matches else None


def _owns(attempt: RunningAttempt, *, pid: int, group: int | None) -> bool:
    if pid in attempt.pids:
        return True
    return group is not None and group == attempt.process_group


def _rogue_reason(owner: RunningAttempt | None, *, gpu_uuid: str | None) -> RogueReason | None:
    if owner is None:
        return RogueReason.UNOWNED
    if gpu_uuid not in owner.gpu_uuids:
        return RogueReason.WRONG_GPU
    return None


__all__ = [
    "UNKNOWN",
    "ProcessAttribution",
    "RogueReason",
    "RunningAttempt",
    "attribute_processes",
    "rogue_processes",
]
