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


def test_the_job_list_reads_its_rows_again_when_its_socket_connects(live_stack, page, page_problems, researcher):
    """A job submitted between the list's render and its socket's opening comes with no event for the
    page: the list reads its rows again on connecting (before, the row appeared only at the next job event)."""
    from scheduler.models import Job
    from tests.factories import PASSWORD
    from tests.scheduler.jobs.test_job_execution import submit, wait_for

    held = []
    log_in(page, live_stack.url, "researcher", PASSWORD)
    page.route_web_socket(re.compile(r"/ws/events/"), lambda socket: held.append(socket))
    page.goto(f"{live_stack.url}/jobs/")
    for _ in range(100):  # the route's handler runs while Playwright is called: let it
        if held:
            break
        page.wait_for_timeout(100)
    job = submit(researcher, name="made-while-the-page-was-connecting", command="sleep 30")
    wait_for(lambda: Job.objects.get(pk=job.pk).state == "running", timeout=60)  # no job event after this
    held[-1].connect_to_server()
    page.wait_for_function("document.documentElement.dataset.live === 'connected'")
    expect(page.locator("#job-rows")).to_contain_text("made-while-the-page-was-connecting", timeout=15000)
    assert page_problems.console_errors == []
    from tests.actors import api_client_for

    assert api_client_for(researcher).post(f"/api/v1/jobs/{job.pk}/cancel/").status_code in (200, 202)
