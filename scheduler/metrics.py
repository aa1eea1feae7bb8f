"""/metrics for Prometheus: per-GPU gauges named as NVIDIA's DCGM exporter names them, plus atelier_*.

Generated from the database at scrape time into a registry of its own (never the process-global
one), so any web process answers the same. Protected by a bearer token (ATELIER_METRICS_TOKEN) or a
client address in the allow-list (ATELIER_METRICS_ALLOW, default loopback only).
"""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from scheduler.selectors import fleet as fleet_selectors

# Other apps add their metrics without the scheduler importing them (training: served models), registered in
# their AppConfig.ready(): each gets the scrape's registry.
_collectors: dict = {}


def register_metrics(name: str, collector) -> None:
    _collectors[name] = collector


FORBIDDEN = "metrics: give the bearer token, or scrape from an allowed address\n"
GPU_LABELS = ("node", "gpu", "UUID", "modelName", "simulated")
# DCGM field name, help text, Gpu attribute.
DCGM_GAUGES = (
    ("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", "util_gpu_pct"),
    ("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", "memory_used_mb"),
    ("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).", "memory_free_mb"),
    ("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", "temperature_c"),
    ("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", "power_w"),
)


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponse(FORBIDDEN, status=403, content_type="text/plain")
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)


def metrics_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
        return True
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(client in network for network in settings.METRICS_ALLOW_NETWORKS)


def metrics_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    gauges = {attr: Gauge(name, doc, GPU_LABELS, registry=registry) for name, doc, attr in DCGM_GAUGES}
    state = Gauge(
        "atelier_gpu_state",
        "1 for the GPU's board state (available, drained, lost, node_down).",
        ("node", "gpu", "UUID", "state"),
        registry=registry,
    )
    simulated_gpus = 0
    for gpu in fleet_selectors.gpus_with_board_state():
        labels = (gpu.node.name, str(gpu.index), gpu.uuid, gpu.model, "true" if gpu.node.simulated else "false")
        simulated_gpus += gpu.node.simulated
        state.labels(gpu.node.name, str(gpu.index), gpu.uuid, gpu.board_state).set(1)
        if gpu.board_state in ("lost", "node_down"):
            continue  # no fresh reading: absent is honest, a stale value is not
        _set_readings(gauges, gpu, labels)
    _fleet_gauges(registry, simulated_gpus=simulated_gpus)
    for name in sorted(_collectors):
        _collectors[name](registry)
    return registry


def _set_readings(gauges: dict, gpu, labels: tuple) -> None:
    free = None if gpu.memory_used_mb is None else gpu.memory_total_mb - gpu.memory_used_mb
    values = {
        "util_gpu_pct": gpu.util_gpu_pct,
        "memory_used_mb": gpu.memory_used_mb,
        "memory_free_mb": free,
        "temperature_c": gpu.temperature_c,
        "power_w": gpu.power_w,
    }
    for attr, gauge in gauges.items():
        if values[attr] is not None:  # n/a stays absent rather than 0
            gauge.labels(*labels).set(values[attr])


def _fleet_gauges(registry: CollectorRegistry, *, simulated_gpus: int) -> None:
    Gauge("atelier_fleet_simulated", "1 when any GPU reported here is simulated.", registry=registry).set(
        1 if simulated_gpus else 0
    )
    Gauge("atelier_queue_length", "Jobs waiting to be placed.", registry=registry).set(fleet_selectors.queue_length())
    Gauge("atelier_active_bookings", "Bookings whose window contains now.", registry=registry).set(
        fleet_selectors.active_bookings()
    )
    nodes = Gauge("atelier_node_up", "1 while the node's agent heartbeat is fresh.", ("node",), registry=registry)
    for node in fleet_selectors.nodes_with_status():
        nodes.labels(node.name).set(1 if node.up else 0)
