"""What a GPU backend returns, and the interface every backend implements.

Pure Python, no Django: the node agent turns these readings into rows. Every field that
the hardware may refuse to report is optional; ``None`` means "not available" ("n/a" in the
UI and API), never zero.

Units: memory in MiB (what nvidia-smi and DCGM's ``FB_USED`` call MiB), power in watts,
temperature in degrees Celsius, utilization in percent 0..100.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass


class BackendUnavailable(Exception):
    """The backend cannot run on this machine (library missing, driver not loaded, ...)."""


@dataclass(frozen=True, slots=True)
class ProcessReading:
    """A compute process holding a context on one GPU, as NVML lists it."""

    pid: int
    # None under MIG (NVML cannot attribute memory per process there) or on WDDM.
    used_memory_mb: int | None


@dataclass(frozen=True, slots=True)
class GpuReading:
    """One GPU at one instant. ``lost`` GPUs carry only what was known before they fell off."""

    index: int
    uuid: str | None
    name: str | None = None
    memory_total_mb: int | None = None
    memory_used_mb: int | None = None
    util_gpu_pct: int | None = None
    util_memory_pct: int | None = None
    temperature_c: int | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    fan_speed_pct: int | None = None
    # True/False for MIG-capable boards; None where the board has no MIG at all.
    mig_mode: bool | None = None
    # None when the process list itself could not be read: "unknown", not "no processes".
    processes: tuple[ProcessReading, ...] | None = ()
    lost: bool = False
    # Unexpected per-field failures as "field: message" (NotSupported is expected, not listed).
    errors: tuple[str, ...] = ()

    @property
    def memory_free_mb(self) -> int | None:
        if self.memory_total_mb is None or self.memory_used_mb is None:
            return None
        return self.memory_total_mb - self.memory_used_mb


@dataclass(frozen=True, slots=True)
class NodeReading:
    """All GPUs of one host at one instant.

    When ``error`` is set the backend could not enumerate the host's GPUs at all: ``gpus`` is
    empty and says nothing about the inventory, so a caller must not mark GPUs vanished from it.
    """

    hostname: str
    gpus: tuple[GpuReading, ...]
    simulated: bool
    backend: str
    error: str | None = None
    driver_version: str | None = None


@dataclass(frozen=True, slots=True)
class SimulatedLoad:
    """What the scheduler has running on one GPU, for the simulated backend to mirror.

    A GPU is busy when at least one job or process runs on it; a booking alone puts nothing
    here, so a booked-but-idle GPU reads idle. ``intensity`` (0..1] scales how hard the job
    drives the GPU. Real-hardware backends ignore loads entirely.
    """

    pids: tuple[int, ...] = ()
    jobs: tuple[str, ...] = ()
    intensity: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 < self.intensity <= 1.0:
            raise ValueError(f"SimulatedLoad intensity must be in (0, 1], got {self.intensity!r}")

    @property
    def busy(self) -> bool:
        return bool(self.pids or self.jobs)


class GpuBackend(abc.ABC):
    """A source of GPU readings. Implementations: ``nvml`` (real devices), ``simulated``.

    ``read()`` must never raise for a problem with one device or one field: it reports the
    problem in the reading instead, so the agent keeps sampling.
    """

    name: str = ""
    simulated: bool = False

    @abc.abstractmethod
    def read(self, *, now: float | None = None) -> NodeReading:
        """Read the GPUs of this backend's own node (for NVML: the local host)."""

    def read_fleet(
        self, load: Mapping[str, SimulatedLoad] | None = None, *, now: float | None = None
    ) -> tuple[NodeReading, ...]:
        """Read every node this backend can see. Real hardware sees one node and ignores load."""
        return (self.read(now=now),)

    def close(self) -> None:
        """Release what the backend holds (NVML handle); safe to call twice."""

    def __enter__(self) -> GpuBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


__all__ = [
    "BackendUnavailable",
    "GpuBackend",
    "GpuReading",
    "NodeReading",
    "ProcessReading",
    "SimulatedLoad",
]
