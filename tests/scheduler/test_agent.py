"""The agent, driven one tick at a time: through a fake pynvml (NVML paths) and the simulated fleet.

Assertions are on what it stored and published, not only on "no exception".
"""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pynvml as real
import pytest
from django.core.management import CommandError, call_command

from portal.ops.models import Heartbeat
from portal.realtime.models import Event
from scheduler.agent import BOARD_EVENT, Agent
from scheduler.execution.process import ATTEMPT_MARKER, group_terminate, process_groups
from scheduler.gpu.backends import SimulatedBackend, SimulatedLoad
from scheduler.gpu.backends.nvml import NvmlBackend
from scheduler.gpu.rogue import RunningAttempt
from scheduler.models import Gpu, GpuSample, GpuState, Node, ProcessSnapshot
from tests.scheduler.fleet.readings import T0
from tests.scheduler.gpu.fake_pynvml import MIB, FakeDevice, FakeNvml, FakeProcess
from tests.stack import wait_for

pytestmark = pytest.mark.django_db
UUIDS = [f"GPU-agent-{i}-aaaa-bbbb-cccc-dddddddddddd" for i in range(3)]
# A real process of this host that no attempt owns (the test itself): the agent sees it in /proc.
STRANGER = os.getpid()
NOT_VISIBLE = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1  # no such pid in this namespace


class Clock:
    def __init__(self, start: float):
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def devices():
    return [
        FakeDevice(
            uuid=UUIDS[0],
            memory_used=40_000 * MIB,
            util_gpu=91,
            temperature=67,
            power_mw=312_000,
            processes=[FakeProcess(pid=STRANGER, usedGpuMemory=39_000 * MIB)],
        ),
        FakeDevice(uuid=UUIDS[1], util_gpu=3),
        FakeDevice(uuid=UUIDS[2], name="NVIDIA L40S", memory_total=46068 * MIB),
    ]


@pytest.fixture
def fake(devices, monkeypatch):
    nvml = FakeNvml(devices)
    monkeypatch.setitem(sys.modules, "pynvml", nvml.module())
    return nvml


@pytest.fixture
def nvml_agent(fake):
    backend = NvmlBackend(hostname="gpu-agent-01")
    clock = Clock(T0.timestamp())
    yield Agent(backend=backend, node="gpu-agent-01", clock=clock, flush_interval=0), clock
    backend.close()


def _gpu(uuid: str) -> Gpu:
    return Gpu.objects.get(uuid=uuid)


def test_a_tick_stores_inventory_current_reading_samples_heartbeats_and_an_event(nvml_agent):
    agent, _ = nvml_agent
    result = agent.tick()

    node = Node.objects.get(name="gpu-agent-01")
    assert (node.backend, node.simulated, node.driver_version, node.last_heartbeat) == ("nvml", False, "550.54.15", T0)
    busy = _gpu(UUIDS[0])
    assert (busy.util_gpu_pct, busy.memory_used_mb, busy.temperature_c, busy.power_w, busy.reading_at) == (
        91,
        40_000,
        67,
        312.0,
        T0,
    )
    assert busy.processes == [
        {"pid": STRANGER, "mem": 39_000, "owner": "unknown", "rogue": "unowned", "job": None, "user": ""}
    ]
    assert (busy.process_count, busy.rogue_count) == (1, 1)
    assert GpuSample.objects.filter(gpu__node=node).count() == 3 == result.samples_written
    assert Heartbeat.objects.get(name="agent:gpu-agent-01").detail["backend"] == "nvml"
    event = Event.objects.get(pk=result.event_id)
    assert (event.topic, event.kind) == ("public", BOARD_EVENT)
    assert event.payload["sim"] is False and event.payload["nodes"] == [node.id]
    assert [busy.id, 91, 40_000, 67, 312, 1, 1, 0] in event.payload["g"]
    assert ProcessSnapshot.objects.get(gpu=busy).owner == "unknown"


def test_not_supported_fields_are_stored_as_null(nvml_agent, devices):
    agent, _ = nvml_agent
    for function in ("nvmlDeviceGetPowerUsage", "nvmlDeviceGetUtilizationRates", "nvmlDeviceGetFanSpeed"):
        devices[2].failures[function] = real.NVMLError_NotSupported
    agent.tick()

    gpu = _gpu(UUIDS[2])
    assert (gpu.power_w, gpu.util_gpu_pct, gpu.fan_speed_pct) == (None, None, None)
    assert gpu.memory_used_mb == 1024 and gpu.temperature_c == 55
    sample = GpuSample.objects.get(gpu=gpu)
    assert (sample.power_w, sample.util_gpu_pct, sample.temperature_c) == (None, None, 55)


def test_mig_processes_have_no_memory(nvml_agent, devices):
    agent, _ = nvml_agent
    devices[1].mig = (real.NVML_DEVICE_MIG_ENABLE, real.NVML_DEVICE_MIG_ENABLE)
    devices[1].processes = [FakeProcess(pid=STRANGER, usedGpuMemory=None)]
    agent.tick()

    gpu = _gpu(UUIDS[1])
    assert gpu.mig_mode is True
    assert gpu.processes == [
        {"pid": STRANGER, "mem": None, "owner": "unknown", "rogue": "unowned", "job": None, "user": ""}
    ]


def test_a_gpu_lost_mid_run_is_marked_lost_while_the_others_keep_reporting(nvml_agent, devices):
    agent, clock = nvml_agent
    agent.tick()
    devices[1].lost = True
    devices[0].util_gpu = 55
    clock.now += 1
    agent.tick()

    lost = _gpu(UUIDS[1])
    assert lost.state == GpuState.LOST
    assert (lost.util_gpu_pct, lost.processes, lost.last_seen) == (None, None, T0)
    assert _gpu(UUIDS[0]).util_gpu_pct == 55
    assert GpuSample.objects.filter(gpu=lost).count() == 1  # no sample while lost

    devices[1].lost = False
    clock.now += 1
    agent.tick()
    assert _gpu(UUIDS[1]).state == GpuState.AVAILABLE


def test_a_failing_device_count_keeps_the_inventory_and_the_heartbeat(nvml_agent, fake):
    agent, clock = nvml_agent
    agent.tick()
    fake.count_error = real.NVMLError_Unknown
    clock.now += 1
    agent.tick()

    node = Node.objects.get(name="gpu-agent-01")
    assert node.last_error.startswith("nvmlDeviceGetCount failed")
    assert node.last_heartbeat.timestamp() == clock.now
    assert set(node.gpus.values_list("state", flat=True)) == {GpuState.AVAILABLE}


def test_a_process_owned_by_a_running_attempt_is_attributed_not_flagged(fake):
    backend = NvmlBackend(hostname="gpu-agent-01")
    attempts = [
        RunningAttempt(
            attempt_id=31,
            node="gpu-agent-01",
            gpu_uuids=frozenset({UUIDS[0]}),
            pids=frozenset({STRANGER}),
            job_id=7,
            user="researcher",
        )
    ]
    Agent(backend=backend, node="gpu-agent-01", attempts_provider=lambda: attempts, flush_interval=0).tick()

    gpu = _gpu(UUIDS[0])
    assert gpu.processes == [
        {"pid": STRANGER, "mem": 39_000, "owner": "31", "rogue": "", "job": 7, "user": "researcher"}
    ]
    assert gpu.rogue_count == 0


def test_samples_are_written_in_batches(fake):
    clock = Clock(T0.timestamp())
    agent = Agent(backend=NvmlBackend(hostname="gpu-agent-01"), node="gpu-agent-01", clock=clock, flush_interval=5)
    for _ in range(3):
        assert agent.tick().samples_written == 0
        clock.now += 1
    assert GpuSample.objects.count() == 0
    clock.now += 2
    assert agent.tick().samples_written == 3 * 4


def test_the_run_loop_survives_a_backend_that_raises(db):
    class Broken(SimulatedBackend):
        def read_fleet(self, load=None, *, now=None):
            raise RuntimeError("NVML exploded")

    Agent(backend=Broken(spec="1x1:L4-24GB")).run(interval=0.01, stop=threading.Event(), once=True)  # no raise
    assert not Node.objects.filter(name="sim-l4-01").exists()


def test_the_simulated_fleet_agent_flags_a_rogue_process_on_its_first_tick():
    backend = SimulatedBackend(spec="1x2:H100-80GB")  # not the stack agent's nodes
    target = backend.read_fleet()[0].gpus[1].uuid
    agent = Agent(
        backend=backend, load_provider=lambda attempts: {target: SimulatedLoad(pids=(STRANGER,))}, flush_interval=0
    )
    agent.tick()

    gpu = _gpu(target)
    assert gpu.util_gpu_pct >= 60
    assert gpu.processes[0]["pid"] == STRANGER and gpu.processes[0]["rogue"] == "unowned"
    assert Heartbeat.objects.get(name="agent:sim-fleet").detail["simulated"] is True
    assert Node.objects.get(name="sim-h100-01").simulated is True


def test_the_command_runs_once_in_simulated_mode(settings):
    settings.GPU_BACKEND, settings.SIM_FLEET = "simulated", "1x3:L4-24GB"
    call_command("gpu_agent", "--once")
    assert Gpu.objects.filter(node__name="sim-l4-01").count() == 3
    assert GpuSample.objects.filter(gpu__node__name="sim-l4-01").count() == 3


def test_the_command_refuses_nvml_without_a_driver(settings, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml([], init_error=real.NVMLError_LibraryNotFound).module())
    settings.GPU_BACKEND = "nvml"
    with pytest.raises(CommandError, match="NVML Shared Library Not Found"):
        call_command("gpu_agent", "--once")


def test_auto_falls_back_to_the_simulated_fleet_without_a_driver(settings, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml([], init_error=real.NVMLError_LibraryNotFound).module())
    settings.GPU_BACKEND, settings.SIM_FLEET = "auto", "1x1:H200-141GB"
    call_command("gpu_agent", "--once")
    beat = Heartbeat.objects.get(name="agent:sim-fleet")
    assert beat.detail["simulated"] is True and "Library Not Found" in beat.detail["reason"]


@pytest.fixture
def job_tree():
    """A real job-like process tree in a session of its own: /bin/sh, a subshell, and a grandchild
    `sleep` (as torchrun's workers or a data loader sit below the command), marked as attempt 31."""
    leader = subprocess.Popen(
        ["/bin/sh", "-c", "(sleep 61 & wait) & wait"],
        start_new_session=True,
        env={**os.environ, ATTEMPT_MARKER: "31"},
    )
    try:
        yield leader.pid, wait_for(lambda: _grandchild_of(leader.pid), what="grandchild started")
    finally:
        group_terminate(pgid=leader.pid, grace_seconds=1, popen=leader)


def _grandchild_of(leader: int) -> int | None:
    for pid in process_groups().get(leader, []):
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        if pid != leader and parent != leader:
            return pid
    return None


def test_a_grandchild_of_a_running_attempt_is_its_process_and_a_stray_child_on_another_gpu_is_wrong_gpu(
    fake, devices, job_tree
):
    leader, grandchild = job_tree
    devices[0].processes = [FakeProcess(pid=grandchild, usedGpuMemory=20_000 * MIB)]
    devices[1].processes = [
        FakeProcess(pid=leader, usedGpuMemory=500 * MIB),
        FakeProcess(pid=STRANGER, usedGpuMemory=0),
    ]
    devices[2].processes = [FakeProcess(pid=NOT_VISIBLE, usedGpuMemory=100 * MIB)]
    attempt = RunningAttempt(
        attempt_id=31, node="gpu-agent-01", gpu_uuids=frozenset({UUIDS[0]}), process_group=leader, job_id=7, user="r"
    )
    backend = NvmlBackend(hostname="gpu-agent-01")
    Agent(backend=backend, node="gpu-agent-01", attempts_provider=lambda: [attempt], flush_interval=0).tick()
    backend.close()

    owned = [(p["pid"], p["owner"], p["rogue"], p["job"]) for p in _gpu(UUIDS[0]).processes]
    assert owned == [(grandchild, "31", "", 7)]
    others = [(p["pid"], p["owner"], p["rogue"]) for p in _gpu(UUIDS[1]).processes]
    assert others == [(leader, "31", "wrong_gpu"), (STRANGER, "unknown", "unowned")]
    unseen = _gpu(UUIDS[2])
    assert [(p["owner"], p["rogue"]) for p in unseen.processes] == [("unmatched", "")] and unseen.rogue_count == 0
