"""Inventory sync: GPUs appear, vanish (lost, never deleted), fall off the bus and come back; hosts get renamed."""

import pytest

from scheduler.models import Gpu, GpuState, Node
from scheduler.services.fleet import inventory_sync

from .readings import T0, gpu_reading, node_reading

pytestmark = pytest.mark.django_db


def _gpus(node_name: str) -> dict[str, str]:
    return dict(Gpu.objects.filter(node__name=node_name).values_list("uuid", "state"))


def test_it_adds_a_new_node_and_its_gpus():
    synced = inventory_sync(reading=node_reading(count=2), now=T0)

    node = Node.objects.get(name="gpu-test-01")
    assert (node.backend, node.simulated, node.hostname) == ("nvml", False, "gpu-test-01")
    assert _gpus("gpu-test-01") == {"GPU-test-gpu-test-01-0": "available", "GPU-test-gpu-test-01-1": "available"}
    assert set(synced.gpu_ids) == {"GPU-test-gpu-test-01-0", "GPU-test-gpu-test-01-1"}
    gpu = Gpu.objects.get(uuid="GPU-test-gpu-test-01-1")
    assert (gpu.index, gpu.model, gpu.memory_total_mb, gpu.mig_mode, gpu.last_seen) == (
        1,
        "NVIDIA A100-SXM4-80GB",
        81920,
        False,
        T0,
    )


def test_a_gpu_that_appears_later_is_added():
    inventory_sync(reading=node_reading(count=1), now=T0)
    inventory_sync(reading=node_reading(count=3), now=T0)
    assert len(_gpus("gpu-test-01")) == 3


def test_a_vanished_gpu_becomes_lost_and_is_kept():
    inventory_sync(reading=node_reading(count=3), now=T0)
    inventory_sync(reading=node_reading(gpus=[gpu_reading(0), gpu_reading(2)]), now=T0)

    assert _gpus("gpu-test-01") == {
        "GPU-test-gpu-test-01-0": "available",
        "GPU-test-gpu-test-01-1": "lost",
        "GPU-test-gpu-test-01-2": "available",
    }


def test_a_gpu_reading_lost_is_lost_and_comes_back_as_it_was():
    inventory_sync(reading=node_reading(count=2), now=T0)
    Gpu.objects.filter(uuid="GPU-test-gpu-test-01-1").update(state=GpuState.DRAINED, drain_reason="fan")
    inventory_sync(reading=node_reading(gpus=[gpu_reading(0), gpu_reading(1, lost=True)]), now=T0)
    assert _gpus("gpu-test-01")["GPU-test-gpu-test-01-1"] == "lost"
    assert _gpus("gpu-test-01")["GPU-test-gpu-test-01-0"] == "available"

    inventory_sync(reading=node_reading(count=2), now=T0)
    assert _gpus("gpu-test-01")["GPU-test-gpu-test-01-1"] == "drained"  # the drain outlives the fall-off


def test_a_reading_that_could_not_count_gpus_changes_no_gpu():
    inventory_sync(reading=node_reading(count=2), now=T0)
    inventory_sync(reading=node_reading(gpus=[], error="nvmlDeviceGetCount failed: Unknown Error"), now=T0)

    assert set(_gpus("gpu-test-01").values()) == {"available"}
    assert Node.objects.get(name="gpu-test-01").last_error == "nvmlDeviceGetCount failed: Unknown Error"


def test_a_renamed_host_keeps_its_node_row_and_gpus():
    inventory_sync(reading=node_reading(host="gpu-old", count=2), now=T0)
    node_id = Node.objects.get(name="gpu-old").id
    uuids = [f"GPU-test-gpu-old-{i}" for i in range(2)]

    inventory_sync(
        reading=node_reading(
            host="gpu-new", gpus=[gpu_reading(i, host="gpu-new", uuid=u) for i, u in enumerate(uuids)]
        ),
        now=T0,
    )

    assert not Node.objects.filter(name="gpu-old").exists()
    assert Node.objects.get(name="gpu-new").id == node_id
    assert set(_gpus("gpu-new")) == set(uuids)


def test_one_gpu_moved_to_another_host_changes_node_without_renaming():
    inventory_sync(reading=node_reading(host="gpu-a", count=2), now=T0)
    moved = gpu_reading(0, host="gpu-b", uuid="GPU-test-gpu-a-1")

    inventory_sync(reading=node_reading(host="gpu-b", gpus=[moved]), now=T0)

    assert Node.objects.filter(name="gpu-a").exists()
    assert set(_gpus("gpu-b")) == {"GPU-test-gpu-a-1"}
    assert set(_gpus("gpu-a")) == {"GPU-test-gpu-a-0"}


def test_the_agent_name_overrides_the_hostname():
    inventory_sync(reading=node_reading(host="localhost", count=1), node_name="gpu-07", now=T0)
    assert Node.objects.get(name="gpu-07").hostname == "localhost"


def test_a_node_another_writer_creates_between_lookup_and_insert_does_not_fail_the_sync(monkeypatch):
    """The race behind a CI failure: the agent's first tick and the demo seed both register the node."""
    from scheduler.services import fleet

    original = fleet._renamed_node
    raced = []

    def another_writer_gets_there_first(*, reading):
        if not raced:
            raced.append(True)
            Node.objects.create(name=reading.hostname, hostname=reading.hostname, backend="nvml")
        return original(reading=reading)

    monkeypatch.setattr(fleet, "_renamed_node", another_writer_gets_there_first)

    synced = inventory_sync(reading=node_reading(count=2), now=T0)

    assert Node.objects.filter(name="gpu-test-01").count() == 1
    assert set(synced.gpu_ids) == {"GPU-test-gpu-test-01-0", "GPU-test-gpu-test-01-1"}
