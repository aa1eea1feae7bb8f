"""A seeded, simulated GPU fleet whose readings follow what the scheduler placed.

The demo must tell the truth about Atelier's own state: a GPU reads busy only while the
caller says a job or process runs on it (``SimulatedLoad``); a GPU under an idle booking, or
with nothing at all, reads idle. Everything produced here carries ``simulated=True``.

Spec syntax (``ATELIER_SIM_FLEET``): comma-separated groups ``<nodes>x<gpus>:<model>``, e.g.
``2x8:A100-80GB,2x8:L40S-48GB`` (the default) or ``128x8:A100-80GB``. ``<model>`` is a name
from ``KNOWN_MODELS`` or any ``<NAME>-<N>GB``. Nodes are named ``sim-<model>-<NN>``
(``sim-a100-01``), numbered per model family across groups.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from .base import GpuBackend, GpuReading, NodeReading, ProcessReading, SimulatedLoad

DEFAULT_SIM_FLEET = "2x8:A100-80GB,2x8:L40S-48GB"
MAX_NODES_PER_GROUP = 4096
MAX_GPUS_PER_NODE = 16

EMPTY_SPEC = "simulated fleet spec is empty; expected e.g. {example!r}"
BAD_GROUP = "simulated fleet spec group {group!r} is not <nodes>x<gpus>:<model>, e.g. {example!r}"
BAD_NODE_COUNT = "simulated fleet spec group {group!r}: node count must be 1..{limit}"
BAD_GPU_COUNT = "simulated fleet spec group {group!r}: GPUs per node must be 1..{limit}"
UNKNOWN_MODEL = (
    "simulated fleet spec group {group!r}: unknown GPU model {model!r}; use one of {known} or any <NAME>-<N>GB"
)
UNKNOWN_NODE = "simulated fleet has no node {node!r}; it has {nodes}"


@dataclass(frozen=True, slots=True)
class GpuModel:
    """What the simulator needs to know about a board to make plausible numbers."""

    key: str
    name: str
    memory_total_mb: int
    power_limit_w: float
    idle_power_w: float
    mig_capable: bool = False
    has_fan: bool = False

    @property
    def family(self) -> str:
        return self.key.split("-", 1)[0].lower()


KNOWN_MODELS: dict[str, GpuModel] = {
    model.key.upper(): model
    for model in (
        GpuModel("A100-80GB", "NVIDIA A100-SXM4-80GB", 81920, 400.0, 55.0, mig_capable=True),
        GpuModel("A100-40GB", "NVIDIA A100-SXM4-40GB", 40960, 400.0, 52.0, mig_capable=True),
        GpuModel("H100-80GB", "NVIDIA H100 80GB HBM3", 81559, 700.0, 70.0, mig_capable=True),
        GpuModel("H200-141GB", "NVIDIA H200", 143771, 700.0, 75.0, mig_capable=True),
        GpuModel("L40S-48GB", "NVIDIA L40S", 46068, 350.0, 35.0),
        GpuModel("L4-24GB", "NVIDIA L4", 23034, 72.0, 16.0),
    )
}

_GROUP = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*:\s*(\S+)\s*$")
_GENERIC_MODEL = re.compile(r"^([A-Za-z0-9_.]+)-(\d+)GB$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FleetGroup:
    nodes: int
    gpus_per_node: int
    model: GpuModel


def parse_fleet_spec(spec: str) -> tuple[FleetGroup, ...]:
    """Parse ``"2x8:A100-80GB,2x8:L40S-48GB"``; raise ValueError naming the bad part."""
    groups = [part for part in spec.split(",") if part.strip()]
    if not groups:
        raise ValueError(EMPTY_SPEC.format(example=DEFAULT_SIM_FLEET))
    return tuple(_parse_group(group.strip()) for group in groups)


def _parse_group(group: str) -> FleetGroup:
    match = _GROUP.match(group)
    if match is None:
        raise ValueError(BAD_GROUP.format(group=group, example="128x8:A100-80GB"))
    nodes, gpus = int(match.group(1)), int(match.group(2))
    if not 1 <= nodes <= MAX_NODES_PER_GROUP:
        raise ValueError(BAD_NODE_COUNT.format(group=group, limit=MAX_NODES_PER_GROUP))
    if not 1 <= gpus <= MAX_GPUS_PER_NODE:
        raise ValueError(BAD_GPU_COUNT.format(group=group, limit=MAX_GPUS_PER_NODE))
    return FleetGroup(nodes=nodes, gpus_per_node=gpus, model=_model(match.group(3), group=group))


def _model(token: str, *, group: str) -> GpuModel:
    known = KNOWN_MODELS.get(token.upper())
    if known is not None:
        return known
    generic = _GENERIC_MODEL.match(token)
    if generic is None or int(generic.group(2)) == 0:
        known_keys = ", ".join(model.key for model in KNOWN_MODELS.values())
        raise ValueError(UNKNOWN_MODEL.format(group=group, model=token, known=known_keys))
    # An unknown board: plausible consumer-card figures, fans included.
    return GpuModel(
        key=token,
        name=f"NVIDIA {generic.group(1)}",
        memory_total_mb=int(generic.group(2)) * 1024,
        power_limit_w=300.0,
        idle_power_w=30.0,
        has_fan=True,
    )


def simulated_uuid(*, node: str, index: int) -> str:
    """Stable across restarts and seeds: the agent keys its inventory on it."""
    digest = hashlib.sha1(f"{node}/{index}".encode(), usedforsecurity=False).hexdigest()
    return f"GPU-sim-{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:28]}"


@dataclass(frozen=True, slots=True)
class _SimGpu:
    """Per-GPU constants drawn once from the seed, so a read is only arithmetic."""

    index: int
    uuid: str
    model: GpuModel
    slow_rate: float
    slow_phase: float
    fast_rate: float
    fast_phase: float
    ambient_c: float
    idle_memory_mb: int


@dataclass(frozen=True, slots=True)
class _SimNode:
    hostname: str
    gpus: tuple[_SimGpu, ...]


def _build_fleet(*, spec: str, seed: int) -> tuple[_SimNode, ...]:
    groups = parse_fleet_spec(spec)
    totals: dict[str, int] = {}
    for group in groups:
        totals[group.model.family] = totals.get(group.model.family, 0) + group.nodes
    counters: dict[str, int] = {}
    nodes: list[_SimNode] = []
    for group in groups:
        family = group.model.family
        width = max(2, len(str(totals[family])))  # sim-a100-01, or sim-a100-001 past 99 nodes
        for _ in range(group.nodes):
            number = counters[family] = counters.get(family, 0) + 1
            hostname = f"sim-{family}-{number:0{width}d}"
            nodes.append(_SimNode(hostname, _node_gpus(hostname, group=group, seed=seed)))
    return tuple(nodes)


def _node_gpus(hostname: str, *, group: FleetGroup, seed: int) -> tuple[_SimGpu, ...]:
    return tuple(_sim_gpu(hostname, index, model=group.model, seed=seed) for index in range(group.gpus_per_node))


def _sim_gpu(hostname: str, index: int, *, model: GpuModel, seed: int) -> _SimGpu:
    uuid = simulated_uuid(node=hostname, index=index)
    rng = random.Random(f"{seed}:{uuid}")
    return _SimGpu(
        index=index,
        uuid=uuid,
        model=model,
        # Two sine waves, periods 1-3 min and 7-20 s: smooth, never repeating visibly on a board.
        slow_rate=2 * math.pi / rng.uniform(60.0, 180.0),
        slow_phase=rng.uniform(0.0, 2 * math.pi),
        fast_rate=2 * math.pi / rng.uniform(7.0, 20.0),
        fast_phase=rng.uniform(0.0, 2 * math.pi),
        ambient_c=rng.uniform(27.0, 35.0),
        idle_memory_mb=rng.randint(1, 6),
    )


_NO_LOAD = SimulatedLoad()


class SimulatedBackend(GpuBackend):
    """A fleet of simulated nodes. ``node`` makes it play only that node (one agent per node)."""

    name = "simulated"
    simulated = True

    def __init__(
        self,
        *,
        spec: str = DEFAULT_SIM_FLEET,
        seed: int = 0,
        node: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.spec = spec
        self.seed = seed
        # Why this backend was chosen (e.g. "NVML unavailable: ..."), for the logs and the board.
        self.reason = reason
        self._nodes = _build_fleet(spec=spec, seed=seed)
        if node is not None:
            self._nodes = self._only(node)

    def _only(self, node: str) -> tuple[_SimNode, ...]:
        chosen = tuple(sim for sim in self._nodes if sim.hostname == node)
        if not chosen:
            names = ", ".join(sim.hostname for sim in self._nodes[:8])
            more = ", ..." if len(self._nodes) > 8 else ""
            raise ValueError(UNKNOWN_NODE.format(node=node, nodes=names + more))
        return chosen

    @property
    def hostnames(self) -> tuple[str, ...]:
        return tuple(node.hostname for node in self._nodes)

    @property
    def gpu_count(self) -> int:
        return sum(len(node.gpus) for node in self._nodes)

    def read(self, load: Mapping[str, SimulatedLoad] | None = None, *, now: float | None = None) -> NodeReading:
        """The first (or the chosen) node."""
        return _read_node(self._nodes[0], load=load or {}, now=_now(now))

    def read_fleet(
        self, load: Mapping[str, SimulatedLoad] | None = None, *, now: float | None = None
    ) -> tuple[NodeReading, ...]:
        at = _now(now)
        load = load or {}
        return tuple(_read_node(node, load=load, now=at) for node in self._nodes)


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _read_node(node: _SimNode, *, load: Mapping[str, SimulatedLoad], now: float) -> NodeReading:
    gpus = tuple(_read_gpu(gpu, load=load.get(gpu.uuid, _NO_LOAD), now=now) for gpu in node.gpus)
    return NodeReading(hostname=node.hostname, gpus=gpus, simulated=True, backend="simulated")


def _wave(gpu: _SimGpu, now: float) -> float:
    """Smooth noise in [0, 1], deterministic in (seed, GPU, time)."""
    return (
        0.5
        + 0.3 * math.sin(gpu.slow_rate * now + gpu.slow_phase)
        + 0.2 * math.sin(gpu.fast_rate * now + gpu.fast_phase)
    )


def _read_gpu(gpu: _SimGpu, *, load: SimulatedLoad, now: float) -> GpuReading:
    wave = _wave(gpu, now)
    model = gpu.model
    if load.busy:
        util = round(60 + 38 * load.intensity * wave)
        working_set = (model.memory_total_mb - gpu.idle_memory_mb) * (0.25 + 0.65 * load.intensity)
        memory_used = gpu.idle_memory_mb + int(working_set * (0.98 + 0.02 * wave))
    else:
        util = round(2 * wave)
        memory_used = gpu.idle_memory_mb
    return GpuReading(
        index=gpu.index,
        uuid=gpu.uuid,
        name=model.name,
        memory_total_mb=model.memory_total_mb,
        memory_used_mb=memory_used,
        util_gpu_pct=util,
        util_memory_pct=round(util * 0.55),
        temperature_c=round(gpu.ambient_c + 0.42 * util),
        power_w=_power(model, util),
        power_limit_w=model.power_limit_w,
        fan_speed_pct=round(30 + 0.6 * util) if model.has_fan else None,
        mig_mode=False if model.mig_capable else None,
        processes=_processes(load, memory_used - gpu.idle_memory_mb),
    )


def _power(model: GpuModel, util: int) -> float:
    """Idle draw plus a share of the headroom proportional to utilization."""
    headroom = model.power_limit_w - model.idle_power_w
    return round(model.idle_power_w + headroom * 0.92 * util / 100, 1)


def _processes(load: SimulatedLoad, working_set_mb: int) -> tuple[ProcessReading, ...]:
    if not load.pids:
        return ()
    share = working_set_mb // len(load.pids)
    return tuple(ProcessReading(pid=pid, used_memory_mb=share) for pid in load.pids)


__all__ = [
    "DEFAULT_SIM_FLEET",
    "KNOWN_MODELS",
    "FleetGroup",
    "GpuModel",
    "SimulatedBackend",
    "parse_fleet_spec",
    "simulated_uuid",
]
