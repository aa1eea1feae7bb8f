"""A stand-in ``pynvml`` module for driving the NVML backend without a GPU.

It reuses the real package's exception classes (pure Python, importable without a driver),
so the backend's ``except`` clauses are checked against the hierarchy it will meet for real.
Devices are plain objects the test mutates between reads (a GPU falling off the bus, say).
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any

import pynvml as real

MIB = 1024 * 1024


@dataclass
class FakeProcess:
    pid: int
    usedGpuMemory: int | None  # bytes, or None as NVML reports under MIG  # noqa: N815


@dataclass
class FakeDevice:
    uuid: str | bytes = "GPU-00000000-0000-0000-0000-000000000000"
    name: str | bytes = "NVIDIA A100-SXM4-80GB"
    memory_total: int = 81920 * MIB
    memory_used: int = 1024 * MIB
    util_gpu: int = 50
    util_memory: int = 20
    temperature: int = 55
    power_mw: int = 250_000
    power_limit_mw: int = 400_000
    fan: int = 40
    mig: tuple[int, int] = (0, 0)
    processes: list[FakeProcess] = field(default_factory=list)
    # NVML function name -> exception class raised instead of answering.
    failures: dict[str, type[Exception]] = field(default_factory=dict)
    lost: bool = False
    # A lost GPU may fail already at nvmlDeviceGetHandleByIndex, or only at the first query.
    lost_at_handle: bool = True


class FakeNvml:
    """Holds the devices and counts calls; ``module()`` builds the object put in sys.modules."""

    def __init__(self, devices: list[FakeDevice], *, init_error: type[Exception] | None = None):
        self.devices = devices
        self.init_error = init_error
        self.count_error: type[Exception] | None = None
        # An older driver: the unversioned call fails the way pynvml reports a missing symbol.
        self.driver_lacks_v3 = False
        self.has_v2 = True
        self.init_calls = 0
        self.shutdown_calls = 0

    def module(self) -> types.ModuleType:
        module = types.ModuleType("pynvml")
        for name in dir(real):
            if name.startswith(("NVMLError", "NVML_", "NVMLLibraryMismatchError")):
                setattr(module, name, getattr(real, name))
        for name in dir(self):
            if name.startswith("nvml"):
                setattr(module, name, getattr(self, name))
        if not self.has_v2:
            delattr(module, "nvmlDeviceGetComputeRunningProcesses_v2")
        return module

    # -- library -------------------------------------------------------------------------
    def nvmlInit(self) -> None:  # noqa: N802 - NVML's own names
        self.init_calls += 1
        if self.init_error is not None:
            raise self.init_error()

    def nvmlShutdown(self) -> None:  # noqa: N802
        self.shutdown_calls += 1

    def nvmlSystemGetDriverVersion(self) -> bytes:  # noqa: N802
        return b"550.54.15"

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        if self.count_error is not None:
            raise self.count_error()
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:  # noqa: N802
        device = self.devices[index]
        if device.lost and device.lost_at_handle:
            raise real.NVMLError_GpuIsLost()
        return index

    # -- per-device fields ----------------------------------------------------------------
    def _device(self, handle: int, function: str) -> FakeDevice:
        device = self.devices[handle]
        if device.lost:
            raise real.NVMLError_GpuIsLost()
        failure = device.failures.get(function)
        if failure is not None:
            raise failure()
        return device

    def nvmlDeviceGetUUID(self, handle: int) -> Any:  # noqa: N802
        return self._device(handle, "nvmlDeviceGetUUID").uuid

    def nvmlDeviceGetName(self, handle: int) -> Any:  # noqa: N802
        return self._device(handle, "nvmlDeviceGetName").name

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:  # noqa: N802
        device = self._device(handle, "nvmlDeviceGetMemoryInfo")
        free = device.memory_total - device.memory_used
        return types.SimpleNamespace(total=device.memory_total, used=device.memory_used, free=free)

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> Any:  # noqa: N802
        device = self._device(handle, "nvmlDeviceGetUtilizationRates")
        return types.SimpleNamespace(gpu=device.util_gpu, memory=device.util_memory)

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:  # noqa: N802
        assert sensor == real.NVML_TEMPERATURE_GPU
        return self._device(handle, "nvmlDeviceGetTemperature").temperature

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:  # noqa: N802
        return self._device(handle, "nvmlDeviceGetPowerUsage").power_mw

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: int) -> int:  # noqa: N802
        return self._device(handle, "nvmlDeviceGetEnforcedPowerLimit").power_limit_mw

    def nvmlDeviceGetFanSpeed(self, handle: int) -> int:  # noqa: N802
        return self._device(handle, "nvmlDeviceGetFanSpeed").fan

    def nvmlDeviceGetMigMode(self, handle: int) -> list[int]:  # noqa: N802
        return list(self._device(handle, "nvmlDeviceGetMigMode").mig)

    def nvmlDeviceGetComputeRunningProcesses(self, handle: int) -> list[FakeProcess]:  # noqa: N802
        if self.driver_lacks_v3:
            raise real.NVMLLibraryMismatchError("Unversioned function called and the pyNVML version does not match")
        return list(self._device(handle, "nvmlDeviceGetComputeRunningProcesses").processes)

    def nvmlDeviceGetComputeRunningProcesses_v2(self, handle: int) -> list[FakeProcess]:  # noqa: N802
        return list(self._device(handle, "nvmlDeviceGetComputeRunningProcesses_v2").processes)
