"""The demo researcher logs in and opens every page of the navigation: no console error, no 4xx/5xx."""

import pytest

from portal.demo import DEMO_PASSWORD, demo_seed
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.stack, pytest.mark.e2e]

# (navigation link, the page's heading)
NAVIGATION = [
    ("GPU board", "GPU board"),
    ("Bookings", "Bookings"),
    ("Jobs", "Jobs"),
    ("Labeling", "Datasets"),
    ("Reports", "Reports"),
]


def test_the_researcher_opens_every_navigation_page(live_stack, page, page_problems):
    demo_seed()
    log_in(page, live_stack.url, "researcher", DEMO_PASSWORD)
    for link, heading in NAVIGATION:
        page.get_by_role("navigation", name="Main").get_by_role("link", name=link).click()
        page.wait_for_load_state("networkidle")
        assert page.get_by_role("heading", level=1).first.inner_text().startswith(heading)
    for link in ("Teams", "researcher"):
        page.get_by_role("link", name=link, exact=True).click()
        page.wait_for_load_state("networkidle")
    assert page_problems.bad_responses == []
    assert page_problems.console_errors == []


def test_the_bell_counts_a_new_notification_without_reload(live_stack, page, page_problems):
    from django.contrib.auth import get_user_model

    from portal.notifications import tasks as notification_tasks

    demo_seed()
    log_in(page, live_stack.url, "researcher", DEMO_PASSWORD)
    page.wait_for_function("document.documentElement.dataset.live === 'connected'")
    bell = page.locator("#unread-count")
    assert bell.inner_text() == "0"
    researcher = get_user_model().objects.get(username="researcher")
    notification_tasks.send.delay(user_id=researcher.pk, kind="message", title="Checkpoint written")
    page.wait_for_function("document.getElementById('unread-count').textContent === '1'", timeout=15000)
    assert page_problems.console_errors == []


def test_the_site_admin_sees_the_admin_link_and_api_docs(live_stack, page, page_problems):
    demo_seed()
    log_in(page, live_stack.url, "admin", DEMO_PASSWORD)
    page.get_by_role("link", name="Admin", exact=True).click()
    page.wait_for_load_state("networkidle")
    assert "Site administration" in page.title()
    page.goto(f"{live_stack.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .information-container", timeout=15000)
    assert page_problems.bad_responses == []
    assert page_problems.console_errors == []
