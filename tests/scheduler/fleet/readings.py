"""Builders of backend readings and fleet rows for the fleet tests."""

from datetime import UTC, datetime

from scheduler.gpu.backends import GpuReading, NodeReading, ProcessReading
from scheduler.models import Gpu, Node

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def gpu_reading(
    index: int, *, host: str = "gpu-test-01", lost: bool = False, util: int | None = 10, processes=(), **fields
) -> GpuReading:
    uuid = fields.pop("uuid", f"GPU-test-{host}-{index}")
    if lost:
        return GpuReading(index=index, uuid=uuid, lost=True, processes=None)
    values = dict(
        name="NVIDIA A100-SXM4-80GB",
        memory_total_mb=81920,
        memory_used_mb=1000,
        util_gpu_pct=util,
        util_memory_pct=5,
        temperature_c=40,
        power_w=100.0,
        power_limit_w=400.0,
        mig_mode=False,
    )
    values.update(fields)
    procs = tuple(ProcessReading(pid=p, used_memory_mb=500) if isinstance(p, int) else p for p in processes)
    return GpuReading(index=index, uuid=uuid, processes=procs, **values)


def node_reading(host: str = "gpu-test-01", gpus=None, *, count: int = 2, error: str | None = None) -> NodeReading:
    if gpus is None:
        gpus = [gpu_reading(i, host=host) for i in range(count)]
    return NodeReading(hostname=host, gpus=tuple(gpus), simulated=False, backend="nvml", error=error)


def make_gpu(
    *, node_name: str = "gpu-test-01", index: int = 0, model: str = "NVIDIA A100-SXM4-80GB", heartbeat=None, **fields
) -> Gpu:
    node, _ = Node.objects.get_or_create(
        name=node_name, defaults={"backend": "nvml", "hostname": node_name, "last_heartbeat": heartbeat}
    )
    return Gpu.objects.create(
        node=node, index=index, uuid=f"GPU-make-{node_name}-{index}", model=model, memory_total_mb=81920, **fields
    )
