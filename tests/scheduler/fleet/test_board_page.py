"""The /gpus/ board and /gpus/<id>/ pages as rendered by the server (the live part is in tests/e2e)."""

import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from scheduler.agent import Agent
from scheduler.gpu.backends import SimulatedBackend, SimulatedLoad
from scheduler.models import GpuState, Node

from .readings import make_gpu

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, researcher):
    client.force_login(researcher)
    return client


def _page(client, url="/gpus/") -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_no_inline_script(signed_in):
    make_gpu(node_name="board-n", heartbeat=timezone.now())
    html = _page(signed_in)
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)


def test_it_shows_the_state_drained_with_reason_lost_and_node_down(signed_in):
    now = timezone.now()
    make_gpu(node_name="board-up", index=0, heartbeat=now, state=GpuState.DRAINED, drain_reason="fan swap")
    make_gpu(node_name="board-up", index=1, heartbeat=now, state=GpuState.LOST)
    make_gpu(node_name="board-old", index=0, heartbeat=now - timedelta(minutes=3))
    html = _page(signed_in)
    assert "drained: fan swap" in html
    assert re.search(r'data-state="lost"', html)
    assert re.search(r'data-state="node_down"', html) and "node down" in html
    assert "SIMULATED" not in html  # none of these nodes is simulated


def test_filters_narrow_the_board(signed_in):
    now = timezone.now()
    make_gpu(node_name="board-a", model="NVIDIA A100-SXM4-80GB", heartbeat=now)
    make_gpu(node_name="board-l", model="NVIDIA L40S", heartbeat=now)
    html = _page(signed_in, "/gpus/?node=board-l")
    assert "board-l" in html and 'aria-label="Node board-a"' not in html
    html = _page(signed_in, "/gpus/?model=NVIDIA L40S&state=available&free_now=1")
    assert 'aria-label="Node board-l"' in html and 'aria-label="Node board-a"' not in html


def test_a_simulated_fleet_is_badged_and_a_rogue_process_is_flagged_after_one_tick(signed_in):
    backend = SimulatedBackend(spec="1x2:H100-80GB")  # not the stack agent's nodes
    rogue_uuid = backend.read_fleet()[0].gpus[0].uuid
    Agent(
        backend=backend,
        load_provider=lambda attempts: {rogue_uuid: SimulatedLoad(pids=(os.getpid(),))},
        flush_interval=0,
    ).tick()

    html = _page(signed_in, "/gpus/?node=sim-h100-01")
    assert 'id="simulated-badge"' in html and "SIMULATED" in html
    card = html.split('class="gpu-card has-rogue"', 1)[1].split("</article>", 1)[0]
    assert f"pid {os.getpid()}" in card and "unknown owner" in card and "rogue" in card


def test_the_gpu_page_has_chart_containers_and_the_metrics_url(signed_in):
    gpu = make_gpu(node_name="board-d", heartbeat=timezone.now())
    html = _page(signed_in, f"/gpus/{gpu.id}/")
    for chart in ("chart-util", "chart-memory", "chart-temperature", "chart-power"):
        assert f'id="{chart}"' in html
    assert f"/api/v1/gpus/{gpu.id}/metrics/" in html and "uPlot.iife.min.js" in html


def test_the_drain_page_is_for_site_admins_and_lists_affected_bookings(client, researcher, admin):
    gpu = make_gpu(node_name="board-dr", heartbeat=timezone.now())
    client.force_login(researcher)
    assert client.get(f"/gpus/{gpu.id}/drain/").status_code == 403
    client.force_login(admin)
    assert "Affected bookings (0)" in _page(client, f"/gpus/{gpu.id}/drain/")
    response = client.post(f"/gpus/{gpu.id}/drain/", {"reason": "thermal paste"})
    assert response.status_code == 302
    gpu.refresh_from_db()
    assert (gpu.state, gpu.drain_reason) == ("drained", "thermal paste")
    client.post(f"/nodes/{gpu.node_id}/drain/", {"reason": ""})
    assert Node.objects.get(pk=gpu.node_id).drained is False  # no reason, no drain


def test_a_drain_reason_is_escaped_on_the_board(signed_in):
    make_gpu(node_name="board-x", heartbeat=timezone.now(), state=GpuState.DRAINED, drain_reason="<b>hot</b>")
    html = _page(signed_in, "/gpus/?node=board-x")
    assert "drained: &lt;b&gt;hot&lt;/b&gt;" in html and "<b>hot</b>" not in html


def test_each_card_says_who_holds_the_gpu_now_and_who_is_next(signed_in, outsider):
    from scheduler.services.bookings import booking_create
    from tests.scheduler.factories import fleet, hours_from_now, ids_request

    gpus = fleet(nodes=1, per_node=2, prefix="board-booked")
    Node.objects.filter(name="board-booked-00").update(last_heartbeat=timezone.now())
    now = timezone.now()
    current = booking_create(
        user=outsider,
        start=hours_from_now(-1),
        end=hours_from_now(2),
        request=ids_request(gpus[:1]),
        now=now - timedelta(hours=2),
    )
    booking_create(user=outsider, start=hours_from_now(3), end=hours_from_now(4), request=ids_request(gpus), now=now)
    current.idle_flagged_at = now
    current.save(update_fields=["idle_flagged_at"])

    cards = {
        card.split('data-gpu-id="', 1)[1].split('"', 1)[0]: card
        for card in _page(signed_in, "/gpus/?node=board-booked-00").split("<article")[1:]
    }
    team = current.team.name
    assert re.search(rf"now: outsider \({team}\) until \w+ \d\d:\d\d · idle", cards[str(gpus[0].id)])
    assert re.search(rf"next: outsider \({team}\) from \w+ \d\d:\d\d<", cards[str(gpus[0].id)])
    assert "now:" not in cards[str(gpus[1].id)] and "next: outsider" in cards[str(gpus[1].id)]


def test_node_and_card_text_is_escaped(signed_in):
    gpu = make_gpu(node_name="board-x", model="<img src=x onerror=alert(1)>", heartbeat=timezone.now())
    Node.objects.filter(pk=gpu.node_id).update(
        drained=True, drain_reason="<script>alert(2)</script>", last_error="<b>nvml</b>"
    )
    html = _page(signed_in, "/gpus/?node=board-x")
    assert "<img src=x" not in html and "<script>alert(2)" not in html and "<b>nvml</b>" not in html
    assert "node drained: &lt;script&gt;alert(2)&lt;/script&gt;" in html and "&lt;b&gt;nvml&lt;/b&gt;" in html


def test_a_card_shows_the_next_booking_however_far_ahead_it_is(signed_in, outsider):
    from portal.teams.models import TeamQuota
    from scheduler.services.bookings import booking_create
    from tests.scheduler.factories import fleet, hours_from_now, ids_request

    (gpu,) = fleet(nodes=1, per_node=1, prefix="board-far")
    Node.objects.filter(name="board-far-00").update(last_heartbeat=timezone.now())
    team = outsider.memberships.get().team
    TeamQuota.objects.update_or_create(team=team, defaults={"booking_horizon_days": 90})
    booking_create(
        user=outsider,
        start=hours_from_now(40 * 24),
        end=hours_from_now(40 * 24 + 2),
        request=ids_request([gpu]),
        now=timezone.now(),
    )
    card = _page(signed_in, "/gpus/?node=board-far-00").split("<article", 1)[1]
    assert f"next: outsider ({team.name}) from" in card
