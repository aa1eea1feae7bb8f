"""Issue 25's drill, the board's part: two emulated nodes, each with its own agent as on two hosts, and the
board page served by a second web process. Both nodes' GPUs update live through that process's
websocket; once node B's agent is SIGKILLed, B shows down there while A goes on ticking."""

import pytest

from tests.e2e.conftest import log_in
from tests.factories import PASSWORD
from tests.scheduler.drills.conftest import A100_NODE, L40S_NODE, Drill

pytestmark = [pytest.mark.stack, pytest.mark.e2e]
GPUS_PER_NODE = 4  # tests.testenv: 1x4:A100-80GB,1x4:L40S-48GB

# True once every card of the node's section shows a tick later than the one the test read before.
TICKED_AFTER = """([node, before]) => {
  const cards = document.querySelectorAll(`section.node[aria-label="Node ${node}"] .gpu-card`);
  return cards.length > 0 && [...cards].every((card) => Number(card.dataset.t || 0) > before);
}"""
LATEST_TICK = "Math.max(0, ...[...document.querySelectorAll('.gpu-card')].map((card) => Number(card.dataset.t || 0)))"


@pytest.fixture
def node_agents(live_stack):
    """One agent per simulated node instead of the stack's agent for the whole fleet; the next test's
    `live_stack` starts the stack's agent again."""
    live_stack.stop("agent")
    agents = Drill(stack=live_stack)
    try:
        agents.agent("agent-a", A100_NODE)
        agents.agent("agent-b", L40S_NODE)
        yield agents
    finally:
        agents.stop_all()


def test_the_board_on_the_second_web_process_shows_both_nodes_live_then_b_down_after_its_agent_is_killed(
    node_agents, second_web, page, page_problems, researcher
):
    sockets = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    log_in(page, second_web, researcher.username, PASSWORD)
    page.goto(f"{second_web}/gpus/")
    page.wait_for_function("document.documentElement.dataset.live === 'connected'")
    assert sockets and all(url.startswith(second_web.replace("http://", "ws://") + "/ws/") for url in sockets)
    page.evaluate("window.__sameDocument = true")
    for node in (A100_NODE, L40S_NODE):
        section = page.get_by_role("region", name=f"Node {node}")
        assert section.locator(".gpu-card").count() == GPUS_PER_NODE
        assert section.get_attribute("data-up") == "true"
    _ticked(page, (A100_NODE, L40S_NODE))

    node_agents.kill("agent-b")
    page.wait_for_selector(f'section.node[data-up="false"][aria-label="Node {L40S_NODE}"]', timeout=15000)
    b_cards = page.locator(f'section.node[aria-label="Node {L40S_NODE}"] .gpu-card[data-state="node_down"]')
    assert b_cards.count() == GPUS_PER_NODE
    _ticked(page, (A100_NODE,))  # A goes on, through the same socket
    assert page.get_by_role("region", name=f"Node {A100_NODE}").get_attribute("data-up") == "true"
    assert page.evaluate("window.__sameDocument") is True  # updated in place, never reloaded
    assert page_problems.console_errors == [] and page_problems.bad_responses == []


def _ticked(page, nodes: tuple) -> None:
    """Wait until every GPU card of each node shows a tick later than the latest on the page now: a
    value only the websocket's `gpu.tick` events write (the page renders it empty)."""
    latest = page.evaluate(LATEST_TICK)
    for node in nodes:
        page.wait_for_function(TICKED_AFTER, arg=[node, latest], timeout=15000)
