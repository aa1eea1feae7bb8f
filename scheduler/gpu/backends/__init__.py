"""GPU reading backends: NVML for real devices, a simulated fleet for everything else.

Pure Python (no Django). Import from here:

    from scheduler.gpu.backends import backend_for, GpuReading, SimulatedLoad

``NvmlBackend`` lives in ``scheduler.gpu.backends.nvml`` and imports ``pynvml`` only when opened.
See docs/gpu-backends.md.
"""

from .base import (
    BackendUnavailable,
    GpuBackend,
    GpuReading,
    NodeReading,
    ProcessReading,
    SimulatedLoad,
)
from .select import BACKEND_SETTINGS, backend_for
from .simulated import DEFAULT_SIM_FLEET, SimulatedBackend, parse_fleet_spec

__all__ = [
    "BACKEND_SETTINGS",
    "DEFAULT_SIM_FLEET",
    "BackendUnavailable",
    "GpuBackend",
    "GpuReading",
    "NodeReading",
    "ProcessReading",
    "SimulatedBackend",
    "SimulatedLoad",
    "backend_for",
    "parse_fleet_spec",
]
