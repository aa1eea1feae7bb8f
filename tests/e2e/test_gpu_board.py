"""The GPU board in Chromium: the simulated fleet appears, and the agent's readings update the open page
live (no reload): a utilization change, a rogue process, a node going down."""

import os
import time

import pytest
from django.conf import settings

from portal.demo import DEMO_PASSWORD, demo_seed
from scheduler.agent import Agent
from scheduler.gpu.backends import SimulatedBackend, SimulatedLoad
from scheduler.models import Gpu
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.stack, pytest.mark.e2e]
FLEET_SIZE = 8  # tests.testenv: 1x4:A100-80GB,1x4:L40S-48GB
# A real process no job owns (this test): the agent sees it in /proc and flags it.
STRANGER = os.getpid()


def _open_board(live_stack, page):
    demo_seed()
    deadline = time.monotonic() + 20
    read = Gpu.objects.filter(node__simulated=True, reading_at__isnull=False)
    while read.count() < FLEET_SIZE and time.monotonic() < deadline:
        time.sleep(0.2)  # after the flush the agent resyncs the inventory, then writes the readings
    log_in(page, live_stack.url, "researcher", DEMO_PASSWORD)
    page.goto(f"{live_stack.url}/gpus/")
    page.wait_for_function("document.documentElement.dataset.live === 'connected'")
    page.evaluate("window.__sameDocument = true")


def test_the_board_shows_the_simulated_fleet_and_updates_live(live_stack, page, page_problems):
    _open_board(live_stack, page)
    assert page.locator("#simulated-badge").inner_text() == "SIMULATED"
    assert page.locator(".gpu-card").count() == FLEET_SIZE
    assert page.get_by_role("region", name="Node sim-a100-01").is_visible()

    first = page.locator(".gpu-card").first
    before = first.get_attribute("data-t")
    page.wait_for_function(
        "(before) => { const c = document.querySelector('.gpu-card'); return c.dataset.t && c.dataset.t !== before; }",
        arg=before,
        timeout=15000,
    )
    assert page.evaluate("window.__sameDocument") is True  # updated in place, not reloaded
    assert page.locator(".gpu-card .spark polyline").first.get_attribute("points") != ""
    assert page_problems.console_errors == [] and page_problems.bad_responses == []


def test_a_busy_gpu_and_its_rogue_process_appear_without_reload(live_stack, page, page_problems):
    _open_board(live_stack, page)
    live_stack.stop("agent")  # this test plays the agent, one tick at a time
    try:
        backend = SimulatedBackend(spec=settings.SIM_FLEET)
        target = backend.read_fleet()[0].gpus[2].uuid
        gpu_id = Gpu.objects.get(uuid=target).id
        card = page.locator(f'.gpu-card[data-gpu-id="{gpu_id}"]')
        assert int(card.locator('[data-field="util"]').inner_text().rstrip("%")) <= 2  # idle before
        agent = Agent(
            backend=backend, load_provider=lambda attempts: {target: SimulatedLoad(pids=(STRANGER,))}, flush_interval=0
        )
        agent.tick()
        page.wait_for_function(
            f"parseInt(document.querySelector('.gpu-card[data-gpu-id=\"{gpu_id}\"] [data-field=util]').textContent) >= 60",
            timeout=10000,
        )
        page.wait_for_selector(f'.gpu-card.has-rogue[data-gpu-id="{gpu_id}"] .procs li.rogue', timeout=5000)
        assert f"pid {STRANGER}" in card.locator(".procs").inner_text()
        assert page.evaluate("window.__sameDocument") is True
    finally:
        live_stack.ensure_running()
    assert page_problems.console_errors == []


def test_a_silent_node_shows_down_then_comes_back(live_stack, page, page_problems):
    _open_board(live_stack, page)
    live_stack.stop("agent")
    try:
        page.wait_for_selector('section.node[data-up="false"]', timeout=15000)
        assert page.locator('.gpu-card[data-state="node_down"]').count() == FLEET_SIZE
    finally:
        live_stack.ensure_running()
    page.wait_for_function("document.querySelectorAll('section.node[data-up=\"false\"]').length === 0", timeout=30000)
    assert page.evaluate("window.__sameDocument") is True
    assert page_problems.console_errors == []
