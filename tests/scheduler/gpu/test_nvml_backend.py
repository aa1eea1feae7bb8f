"""The NVML backend, driven through a fake ``pynvml`` placed in sys.modules."""

from __future__ import annotations

import sys

import pynvml as real
import pytest

from scheduler.gpu.backends import BackendUnavailable, backend_for
from scheduler.gpu.backends.nvml import NO_PYNVML, NvmlBackend
from scheduler.gpu.backends.select import NO_GPUS
from scheduler.gpu.backends.simulated import SimulatedBackend

from .fake_pynvml import MIB, FakeDevice, FakeNvml, FakeProcess

UUIDS = [f"GPU-1111111{i}-aaaa-bbbb-cccc-dddddddddddd" for i in range(3)]


@pytest.fixture
def devices() -> list[FakeDevice]:
    return [
        FakeDevice(
            uuid=UUIDS[0].encode(),  # older nvidia-ml-py returns bytes
            name=b"NVIDIA A100-SXM4-80GB",
            memory_used=40_000 * MIB,
            util_gpu=91,
            util_memory=47,
            temperature=67,
            power_mw=312_456,
            power_limit_mw=400_000,
            processes=[FakeProcess(pid=4242, usedGpuMemory=39_000 * MIB)],
        ),
        FakeDevice(uuid=UUIDS[1], name="NVIDIA A100-SXM4-80GB", util_gpu=0, processes=[]),
        FakeDevice(uuid=UUIDS[2], name="NVIDIA L40S", memory_total=46068 * MIB, mig=(0, 0)),
    ]


@pytest.fixture
def fake(devices: list[FakeDevice], monkeypatch: pytest.MonkeyPatch) -> FakeNvml:
    nvml = FakeNvml(devices)
    monkeypatch.setitem(sys.modules, "pynvml", nvml.module())
    return nvml


@pytest.fixture
def backend(fake: FakeNvml) -> NvmlBackend:
    opened = NvmlBackend(hostname="gpu-03")
    yield opened
    opened.close()


def test_it_reads_every_field_of_every_gpu(backend: NvmlBackend) -> None:
    node = backend.read()

    assert (node.hostname, node.backend, node.simulated, node.error) == ("gpu-03", "nvml", False, None)
    assert node.driver_version == "550.54.15"
    assert [gpu.index for gpu in node.gpus] == [0, 1, 2]
    first = node.gpus[0]
    assert first.uuid == UUIDS[0] and first.name == "NVIDIA A100-SXM4-80GB"
    assert (first.memory_total_mb, first.memory_used_mb, first.memory_free_mb) == (81920, 40000, 41920)
    assert (first.util_gpu_pct, first.util_memory_pct, first.temperature_c) == (91, 47, 67)
    assert first.power_w == pytest.approx(312.456)
    assert first.power_limit_w == 400.0
    assert first.fan_speed_pct == 40
    assert first.mig_mode is False
    assert [(p.pid, p.used_memory_mb) for p in first.processes] == [(4242, 39000)]
    assert (first.lost, first.errors) == (False, ())
    assert node.gpus[1].processes == ()
    assert node.gpus[2].memory_total_mb == 46068


def test_it_reports_not_supported_fields_as_none_and_keeps_the_rest(
    backend: NvmlBackend, devices: list[FakeDevice]
) -> None:
    for function in ("nvmlDeviceGetPowerUsage", "nvmlDeviceGetFanSpeed", "nvmlDeviceGetUtilizationRates"):
        devices[0].failures[function] = real.NVMLError_NotSupported
    devices[0].failures["nvmlDeviceGetMigMode"] = real.NVMLError_NotSupported

    gpu = backend.read().gpus[0]

    assert (gpu.power_w, gpu.fan_speed_pct, gpu.util_gpu_pct, gpu.util_memory_pct) == (None, None, None, None)
    assert gpu.mig_mode is None  # a board without MIG: "n/a", not "disabled"
    assert gpu.power_limit_w == 400.0 and gpu.memory_used_mb == 40000 and gpu.temperature_c == 67
    assert gpu.errors == ()  # NotSupported is the board's nature, not a fault
    assert gpu.lost is False


def test_it_lists_unexpected_field_errors_and_still_reads_the_rest(
    backend: NvmlBackend, devices: list[FakeDevice]
) -> None:
    devices[1].failures["nvmlDeviceGetTemperature"] = real.NVMLError_Unknown
    devices[1].failures["nvmlDeviceGetComputeRunningProcesses"] = real.NVMLError_NoPermission

    gpu = backend.read().gpus[1]

    assert gpu.temperature_c is None
    assert gpu.processes is None  # unknown, which rogue detection must not read as "none"
    assert gpu.errors == ("temperature_c: Unknown Error", "processes: Insufficient Permissions")
    assert gpu.util_gpu_pct == 0 and gpu.uuid == UUIDS[1]


def test_it_reads_mig_mode_and_processes_without_memory(backend: NvmlBackend, devices: list[FakeDevice]) -> None:
    devices[0].mig = (real.NVML_DEVICE_MIG_ENABLE, real.NVML_DEVICE_MIG_ENABLE)
    devices[0].processes = [FakeProcess(pid=100, usedGpuMemory=None), FakeProcess(pid=101, usedGpuMemory=None)]
    devices[0].failures["nvmlDeviceGetUtilizationRates"] = real.NVMLError_NotSupported  # as on a MIG A100

    gpu = backend.read().gpus[0]

    assert gpu.mig_mode is True
    assert (gpu.util_gpu_pct, gpu.util_memory_pct, gpu.errors) == (None, None, ())
    assert [(p.pid, p.used_memory_mb) for p in gpu.processes] == [(100, None), (101, None)]
    assert gpu.memory_used_mb == 40000


def test_a_pending_mig_change_does_not_count_until_reset(backend: NvmlBackend, devices: list[FakeDevice]) -> None:
    devices[0].mig = (0, real.NVML_DEVICE_MIG_ENABLE)

    assert backend.read().gpus[0].mig_mode is False


def test_gpu_lost_mid_run_marks_only_that_gpu_lost(backend: NvmlBackend, devices: list[FakeDevice]) -> None:
    before = backend.read()
    devices[1].lost = True

    after = backend.read()

    lost = after.gpus[1]
    assert (lost.index, lost.uuid, lost.name, lost.lost) == (1, UUIDS[1], "NVIDIA A100-SXM4-80GB", True)
    assert lost.util_gpu_pct is None and lost.memory_used_mb is None and lost.processes is None
    assert after.gpus[0] == before.gpus[0]
    assert after.gpus[2] == before.gpus[2]
    assert after.error is None


def test_gpu_lost_after_its_handle_is_taken_discards_the_partial_reading(
    backend: NvmlBackend, devices: list[FakeDevice]
) -> None:
    backend.read()
    devices[2].lost, devices[2].lost_at_handle = True, False

    gpu = backend.read().gpus[2]

    assert gpu.lost is True and gpu.uuid == UUIDS[2]
    assert gpu.memory_total_mb is None and gpu.temperature_c is None


def test_a_gpu_lost_before_the_first_read_is_reported_without_uuid(fake: FakeNvml, devices: list[FakeDevice]) -> None:
    devices[0].lost = True
    with NvmlBackend(hostname="gpu-03") as backend:
        node = backend.read()

    assert (node.gpus[0].lost, node.gpus[0].uuid) == (True, None)
    assert [gpu.uuid for gpu in node.gpus[1:]] == UUIDS[1:]


def test_a_lost_gpu_that_comes_back_reports_again(backend: NvmlBackend, devices: list[FakeDevice]) -> None:
    backend.read()
    devices[1].lost = True
    assert backend.read().gpus[1].lost is True
    devices[1].lost = False

    gpu = backend.read().gpus[1]

    assert gpu.lost is False and gpu.util_gpu_pct == 0


def test_an_older_driver_falls_back_to_the_v2_process_list(devices: list[FakeDevice], monkeypatch) -> None:
    nvml = FakeNvml(devices)
    nvml.driver_lacks_v3 = True
    monkeypatch.setitem(sys.modules, "pynvml", nvml.module())

    with NvmlBackend() as backend:
        gpu = backend.read().gpus[0]

    assert [(p.pid, p.used_memory_mb) for p in gpu.processes] == [(4242, 39000)] and gpu.errors == ()


def test_a_driver_without_any_usable_process_list_loses_only_that_field(devices: list[FakeDevice], monkeypatch) -> None:
    nvml = FakeNvml(devices)
    nvml.driver_lacks_v3, nvml.has_v2 = True, False
    monkeypatch.setitem(sys.modules, "pynvml", nvml.module())

    with NvmlBackend() as backend:
        gpu = backend.read().gpus[0]

    assert gpu.processes is None and gpu.util_gpu_pct == 91
    assert gpu.errors == ("processes: Unversioned function called and the pyNVML version does not match",)


def test_a_failed_device_count_is_a_node_error_not_an_exception(backend: NvmlBackend, fake: FakeNvml) -> None:
    fake.count_error = real.NVMLError_Unknown

    node = backend.read()

    assert node.gpus == ()
    assert node.error == "nvmlDeviceGetCount failed: Unknown Error"


def test_an_unexpected_exception_in_one_device_leaves_the_others(
    backend: NvmlBackend, devices: list[FakeDevice]
) -> None:
    backend.read()
    devices[0].failures["nvmlDeviceGetMemoryInfo"] = ZeroDivisionError

    node = backend.read()

    assert node.gpus[0].errors == ("device: ZeroDivisionError: ",)
    assert node.gpus[0].uuid == UUIDS[0] and node.gpus[0].lost is False
    assert node.gpus[1].util_gpu_pct == 0


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (real.NVMLError_LibraryNotFound, "NVML Shared Library Not Found"),
        (real.NVMLError_DriverNotLoaded, "Driver Not Loaded"),
    ],
)
def test_missing_library_or_driver_makes_the_backend_unavailable(
    devices: list[FakeDevice], monkeypatch: pytest.MonkeyPatch, error: type[Exception], reason: str
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(devices, init_error=error).module())

    with pytest.raises(BackendUnavailable, match=f"nvmlInit failed \\({reason}\\)"):
        NvmlBackend()


def test_missing_package_makes_the_backend_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError

    with pytest.raises(BackendUnavailable) as raised:
        NvmlBackend()

    assert str(raised.value) == NO_PYNVML


def test_close_shuts_nvml_down_once(fake: FakeNvml) -> None:
    backend = NvmlBackend()
    backend.close()
    backend.close()

    assert (fake.init_calls, fake.shutdown_calls) == (1, 1)


# -- selection -----------------------------------------------------------------------------


def test_auto_uses_nvml_when_it_loads_and_sees_gpus(fake: FakeNvml) -> None:
    backend = backend_for(setting="auto", sim_fleet_spec="1x2:A100-80GB", hostname="gpu-03")

    assert isinstance(backend, NvmlBackend)
    assert [gpu.uuid for gpu in backend.read().gpus] == UUIDS
    backend.close()


def test_auto_falls_back_to_simulated_when_nvml_sees_no_gpu(fake: FakeNvml) -> None:
    fake.devices.clear()

    backend = backend_for(setting="auto", sim_fleet_spec="1x2:A100-80GB")

    assert isinstance(backend, SimulatedBackend) and backend.reason == NO_GPUS
    assert fake.shutdown_calls == 1


def test_auto_falls_back_to_simulated_when_the_library_is_missing(
    devices: list[FakeDevice], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(devices, init_error=real.NVMLError_LibraryNotFound).module())

    backend = backend_for(setting=" Auto ", sim_fleet_spec="3x4:L40S-48GB")

    assert backend.simulated is True
    assert "NVML Shared Library Not Found" in backend.reason
    assert sum(len(node.gpus) for node in backend.read_fleet()) == 12


def test_nvml_setting_refuses_to_pretend(devices: list[FakeDevice], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(devices, init_error=real.NVMLError_LibraryNotFound).module())

    with pytest.raises(BackendUnavailable, match="NVML backend unavailable"):
        backend_for(setting="nvml", sim_fleet_spec="1x1:A100-80GB")


def test_simulated_setting_never_touches_nvml(fake: FakeNvml) -> None:
    backend = backend_for(setting="simulated", sim_fleet_spec="1x1:A100-80GB")

    assert backend.simulated is True and fake.init_calls == 0


def test_an_unknown_setting_is_refused(fake: FakeNvml) -> None:
    with pytest.raises(ValueError, match="GPU backend setting must be one of auto, nvml, simulated, got 'cuda'"):
        backend_for(setting="cuda", sim_fleet_spec="1x1:A100-80GB")


def test_auto_refuses_a_bad_fleet_spec_even_where_nvml_works(fake: FakeNvml) -> None:
    with pytest.raises(ValueError, match="simulated fleet spec"):
        backend_for(setting="auto", sim_fleet_spec="8:A100")
