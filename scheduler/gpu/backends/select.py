"""Choose the GPU backend from the ``ATELIER_GPU_BACKEND`` setting."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import BackendUnavailable, GpuBackend
from .simulated import DEFAULT_SIM_FLEET, SimulatedBackend

if TYPE_CHECKING:
    from .nvml import NvmlBackend

BACKEND_SETTINGS = ("auto", "nvml", "simulated")

UNKNOWN_SETTING = "GPU backend setting must be one of {choices}, got {value!r}"
NO_GPUS = "NVML loaded but reports no GPUs"


def backend_for(
    *,
    setting: str,
    sim_fleet_spec: str = DEFAULT_SIM_FLEET,
    seed: int = 0,
    node: str | None = None,
    hostname: str | None = None,
) -> GpuBackend:
    """Open the backend named by ``setting`` (``auto`` | ``nvml`` | ``simulated``).

    ``auto`` prefers NVML when the library loads and sees at least one GPU, and otherwise falls
    back to the simulated fleet, recording why in ``backend.reason``. ``nvml`` raises
    ``BackendUnavailable`` rather than pretend. ``node`` picks one simulated node to play;
    ``hostname`` overrides the NVML node's name. A bad fleet spec raises ``ValueError``.
    """
    choice = setting.strip().lower()
    if choice not in BACKEND_SETTINGS:
        raise ValueError(UNKNOWN_SETTING.format(choices=", ".join(BACKEND_SETTINGS), value=setting))
    if choice == "simulated":
        return SimulatedBackend(spec=sim_fleet_spec, seed=seed, node=node, reason="configured")
    if choice == "nvml":
        return _open_nvml(hostname=hostname)
    return _auto(sim_fleet_spec=sim_fleet_spec, seed=seed, node=node, hostname=hostname)


def _open_nvml(*, hostname: str | None) -> NvmlBackend:
    from .nvml import NvmlBackend  # keeps pynvml out of processes that never read real GPUs

    return NvmlBackend(hostname=hostname)


def _auto(*, sim_fleet_spec: str, seed: int, node: str | None, hostname: str | None) -> GpuBackend:
    # Validate the fallback first: a typo in the fleet spec should fail on every machine alike.
    fallback_check = SimulatedBackend(spec=sim_fleet_spec, seed=seed, node=node)
    try:
        backend = _open_nvml(hostname=hostname)
    except BackendUnavailable as exc:
        return _simulated(fallback_check, reason=str(exc))
    if _has_gpus(backend):
        return backend
    backend.close()
    return _simulated(fallback_check, reason=NO_GPUS)


def _has_gpus(backend: NvmlBackend) -> bool:
    try:
        return backend.device_count() > 0
    except Exception:  # noqa: BLE001 - a driver that cannot count GPUs is as good as none
        return False


def _simulated(backend: SimulatedBackend, *, reason: str) -> SimulatedBackend:
    backend.reason = reason
    return backend


__all__ = ["BACKEND_SETTINGS", "backend_for"]
