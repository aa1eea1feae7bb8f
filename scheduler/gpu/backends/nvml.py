"""Real GPUs through NVML (``pynvml`` from the ``nvidia-ml-py`` package).

Failure levels, from widest to narrowest:
- the library or driver is missing: the constructor raises ``BackendUnavailable``;
- the device count cannot be read: ``read()`` returns a NodeReading with ``error`` set;
- one device answers GPU_IS_LOST: that GPU reads ``lost=True``, the others keep reporting;
- one field answers NOT_SUPPORTED (power on some boards, fans on passive ones): that field
  is ``None``; any other per-field NVML error also gives ``None`` and is listed in ``errors``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .base import BackendUnavailable, GpuBackend, GpuReading, NodeReading, ProcessReading

MIB = 1024 * 1024

NO_PYNVML = "NVML backend unavailable: the nvidia-ml-py package (module pynvml) is not installed"
INIT_FAILED = "NVML backend unavailable: nvmlInit failed ({reason})"


class _GpuLost(Exception):
    """Internal: the device answered GPU_IS_LOST; abandon this device's reading."""


class _NeverRaised(Exception):
    """Stands in for exception classes an older pynvml does not define."""


def _text(value: Any) -> str:
    """NVML strings come back as bytes in older nvidia-ml-py releases and str in newer ones."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").rstrip("\x00")
    return str(value).rstrip("\x00")


def _import_pynvml() -> ModuleType:
    # Imported lazily so that machines without the package still run the simulated fleet.
    try:
        import pynvml
    except ImportError as exc:
        raise BackendUnavailable(NO_PYNVML) from exc
    return pynvml


class NvmlBackend(GpuBackend):
    """Reads every GPU of the local host. Opening it initialises NVML; ``close()`` shuts it down."""

    name = "nvml"
    simulated = False

    def __init__(self, *, hostname: str | None = None) -> None:
        self._nvml = _import_pynvml()
        try:
            self._nvml.nvmlInit()
        except self._nvml.NVMLError as exc:
            # LibraryNotFound, DriverNotLoaded, NoPermission...: nothing here can be read.
            raise BackendUnavailable(INIT_FAILED.format(reason=_text(exc))) from exc
        self._open = True
        # Raised by unversioned calls when the driver predates the package (e.g. no _v3 symbol).
        self._mismatch = getattr(self._nvml, "NVMLLibraryMismatchError", _NeverRaised)
        self.hostname = hostname or socket.gethostname()
        # Remembered so that a GPU which falls off the bus is still reported under its UUID.
        self._uuid_by_index: dict[int, str] = {}
        self._name_by_index: dict[int, str] = {}
        self._driver: str | None = None

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        try:
            self._nvml.nvmlShutdown()
        except self._nvml.NVMLError:
            pass  # shutting down a half-dead driver must not turn into an agent crash

    def device_count(self) -> int:
        return int(self._nvml.nvmlDeviceGetCount())

    def read(self, *, now: float | None = None) -> NodeReading:
        try:
            count = self.device_count()
        except self._nvml.NVMLError as exc:
            return self._node(gpus=(), error=f"nvmlDeviceGetCount failed: {_text(exc)}")
        gpus = tuple(self._read_device_safely(index) for index in range(count))
        return self._node(gpus=gpus, error=None)

    def _node(self, *, gpus: tuple[GpuReading, ...], error: str | None) -> NodeReading:
        return NodeReading(
            hostname=self.hostname,
            gpus=gpus,
            simulated=False,
            backend=self.name,
            error=error,
            driver_version=self._driver_version(),
        )

    def _driver_version(self) -> str | None:
        if self._driver is None:
            try:
                self._driver = _text(self._nvml.nvmlSystemGetDriverVersion())
            except self._nvml.NVMLError:
                return None
        return self._driver

    def _read_device_safely(self, index: int) -> GpuReading:
        try:
            return self._read_device(index)
        except _GpuLost:
            return self._lost_reading(index)
        except Exception as exc:  # noqa: BLE001 - one odd device must not stop the others
            return self._unreadable(index, errors=(f"device: {type(exc).__name__}: {_text(exc)}",))

    def _unreadable(self, index: int, *, errors: tuple[str, ...]) -> GpuReading:
        return GpuReading(
            index=index,
            uuid=self._uuid_by_index.get(index),
            name=self._name_by_index.get(index),
            processes=None,
            errors=errors,
        )

    def _lost_reading(self, index: int) -> GpuReading:
        return GpuReading(
            index=index,
            uuid=self._uuid_by_index.get(index),
            name=self._name_by_index.get(index),
            processes=None,
            lost=True,
        )

    def _read_device(self, index: int) -> GpuReading:
        nvml = self._nvml
        errors: list[str] = []
        handle = self._call("handle", nvml.nvmlDeviceGetHandleByIndex, index, errors=errors)
        if handle is None:
            return self._unreadable(index, errors=tuple(errors))
        field = self._field_reader(handle, errors)
        uuid = field("uuid", nvml.nvmlDeviceGetUUID)
        name = field("name", nvml.nvmlDeviceGetName)
        self._remember(index, uuid=uuid, name=name)
        memory = field("memory", nvml.nvmlDeviceGetMemoryInfo)
        util = field("utilization", nvml.nvmlDeviceGetUtilizationRates)
        return GpuReading(
            index=index,
            uuid=_text(uuid) if uuid is not None else self._uuid_by_index.get(index),
            name=_text(name) if name is not None else None,
            memory_total_mb=_mib(getattr(memory, "total", None)),
            memory_used_mb=_mib(getattr(memory, "used", None)),
            util_gpu_pct=_int_or_none(getattr(util, "gpu", None)),
            util_memory_pct=_int_or_none(getattr(util, "memory", None)),
            temperature_c=_int_or_none(
                field("temperature_c", nvml.nvmlDeviceGetTemperature, nvml.NVML_TEMPERATURE_GPU)
            ),
            power_w=_watts(field("power_w", nvml.nvmlDeviceGetPowerUsage)),
            power_limit_w=_watts(field("power_limit_w", nvml.nvmlDeviceGetEnforcedPowerLimit)),
            fan_speed_pct=_int_or_none(field("fan_speed_pct", nvml.nvmlDeviceGetFanSpeed)),
            mig_mode=self._mig_mode(field("mig_mode", nvml.nvmlDeviceGetMigMode)),
            processes=_processes(field("processes", self._compute_processes)),
            errors=tuple(errors),
        )

    def _compute_processes(self, handle: Any) -> Any:
        try:
            return self._nvml.nvmlDeviceGetComputeRunningProcesses(handle)
        except self._mismatch:
            legacy = getattr(self._nvml, "nvmlDeviceGetComputeRunningProcesses_v2", None)
            if legacy is None:
                raise
            return legacy(handle)

    def _field_reader(self, handle: Any, errors: list[str]) -> Callable[..., Any]:
        def read_field(label: str, function: Callable[..., Any], *args: Any) -> Any:
            return self._call(label, function, handle, *args, errors=errors)

        return read_field

    def _call(self, label: str, function: Callable[..., Any], *args: Any, errors: list[str]) -> Any:
        nvml = self._nvml
        try:
            return function(*args)
        except nvml.NVMLError_GpuIsLost as exc:
            raise _GpuLost() from exc
        except nvml.NVMLError_NotSupported:
            return None
        except (nvml.NVMLError, self._mismatch) as exc:
            errors.append(f"{label}: {_text(exc)}")
            return None

    def _remember(self, index: int, *, uuid: Any, name: Any) -> None:
        if uuid is not None:
            self._uuid_by_index[index] = _text(uuid)
        if name is not None:
            self._name_by_index[index] = _text(name)

    def _mig_mode(self, modes: Any) -> bool | None:
        if modes is None:
            return None
        current = modes[0]  # [current, pending]: a pending change needs a GPU reset first
        return int(current) == int(self._nvml.NVML_DEVICE_MIG_ENABLE)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _mib(value: Any) -> int | None:
    return None if value is None else int(value) // MIB


def _watts(milliwatts: Any) -> float | None:
    return None if milliwatts is None else int(milliwatts) / 1000.0


def _processes(entries: Any) -> tuple[ProcessReading, ...] | None:
    if entries is None:
        return None
    return tuple(
        ProcessReading(pid=int(entry.pid), used_memory_mb=_mib(getattr(entry, "usedGpuMemory", None)))
        for entry in entries
    )


__all__ = ["NvmlBackend"]
