"""The page's live connection in Chromium: a page that was offline longer than the server keeps
events reconnects, is told it missed some, and offers a reload."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.accounts.models import User
from portal.demo import DEMO_PASSWORD, demo_seed
from portal.notifications.services import notification_send
from portal.realtime.services import events_prune
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.stack, pytest.mark.e2e]


class SocketSwitch:
    """Routes the page's websocket: to the real server, or (switched off) to nowhere, which the page
    takes for an open connection that never says anything: the page is offline without knowing it."""

    def __init__(self, page):
        self.to_server = True
        self.sockets = []
        page.route_web_socket(re.compile(r"/ws/events/"), self._route)

    def _route(self, socket):
        self.sockets.append(socket)
        if self.to_server:
            socket.connect_to_server()

    def drop(self, *, reconnect_to_server: bool) -> None:
        self.to_server = reconnect_to_server
        self.sockets[-1].close()


def test_a_page_that_missed_pruned_events_says_so_and_reloads(live_stack, page, page_problems):
    demo_seed()
    switch = SocketSwitch(page)
    log_in(page, live_stack.url, "researcher", DEMO_PASSWORD)
    page.goto(f"{live_stack.url}/gpus/")
    page.wait_for_function("document.documentElement.dataset.live === 'connected'")
    expect(page.locator("#live-missed")).to_be_hidden()

    switch.drop(reconnect_to_server=False)
    page.wait_for_function("() => document.documentElement.dataset.live === 'connected'")  # to nowhere
    researcher = User.objects.get(username="researcher")
    for title in ("missed one", "missed two"):
        notification_send(user=researcher, kind="message", title=title)
    events_prune(older_than=timedelta(0))  # as if the page had been away past the retention

    switch.drop(reconnect_to_server=True)
    notice = page.locator("#live-missed")
    expect(notice).to_be_visible(timeout=15000)
    expect(notice).to_contain_text("Some live updates were missed")
    notice.get_by_role("link", name="Reload").click()
    page.wait_for_function("document.documentElement.dataset.live === 'connected'")
    expect(page.locator("#live-missed")).to_be_hidden()
    assert page.url.endswith("/gpus/")
    assert page_problems.console_errors == [] and page_problems.bad_responses == []
