"""/metrics: Prometheus text with DCGM-named per-GPU gauges, atelier_* gauges, token or allow-list."""

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from scheduler.models import GpuState

from .readings import make_gpu

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet():
    now = timezone.now()
    busy = make_gpu(
        node_name="prom-01",
        index=0,
        heartbeat=now,
        util_gpu_pct=87,
        memory_used_mb=30000,
        temperature_c=66,
        power_w=301.5,
    )
    unsupported = make_gpu(
        node_name="prom-01", index=1, heartbeat=now, util_gpu_pct=3, memory_used_mb=5, temperature_c=30, power_w=None
    )
    make_gpu(node_name="prom-01", index=2, heartbeat=now, state=GpuState.LOST)
    return busy, unsupported


def _samples(response) -> dict:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def _for(samples, name, uuid):
    return [s for s in samples.get(name, []) if s.labels.get("UUID") == uuid]


def test_it_exports_dcgm_gauges_with_node_gpu_uuid_and_model_labels(client, fleet):
    busy, unsupported = fleet
    samples = _samples(client.get("/metrics", REMOTE_ADDR="127.0.0.1"))

    [util] = _for(samples, "DCGM_FI_DEV_GPU_UTIL", busy.uuid)
    assert util.value == 87
    assert util.labels == {
        "node": "prom-01",
        "gpu": "0",
        "UUID": busy.uuid,
        "modelName": "NVIDIA A100-SXM4-80GB",
        "simulated": "false",
    }
    assert _for(samples, "DCGM_FI_DEV_FB_USED", busy.uuid)[0].value == 30000
    assert _for(samples, "DCGM_FI_DEV_FB_FREE", busy.uuid)[0].value == 81920 - 30000
    assert _for(samples, "DCGM_FI_DEV_GPU_TEMP", busy.uuid)[0].value == 66
    assert _for(samples, "DCGM_FI_DEV_POWER_USAGE", busy.uuid)[0].value == 301.5
    assert _for(samples, "DCGM_FI_DEV_POWER_USAGE", unsupported.uuid) == []  # n/a is absent, not 0
    assert "atelier_queue_length" in samples and "atelier_active_bookings" in samples
    assert samples["atelier_fleet_simulated"][0].value in (0, 1)


def test_a_lost_gpu_has_a_state_but_no_readings(client, fleet):
    samples = _samples(client.get("/metrics", REMOTE_ADDR="127.0.0.1"))
    lost_uuid = "GPU-make-prom-01-2"
    assert _for(samples, "DCGM_FI_DEV_GPU_UTIL", lost_uuid) == []
    [state] = _for(samples, "atelier_gpu_state", lost_uuid)
    assert state.labels["state"] == "lost" and state.value == 1


def test_a_client_outside_the_allow_list_is_refused(client, fleet):
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403


def test_the_bearer_token_lets_a_remote_scraper_in(client, fleet, settings):
    settings.METRICS_TOKEN = "s3cret"
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403


def test_the_allow_list_takes_networks(client, fleet, settings):
    import ipaddress

    settings.METRICS_ALLOW_NETWORKS = (ipaddress.ip_network("10.0.0.0/8"),)
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
