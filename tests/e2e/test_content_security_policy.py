"""The pages work with the Content-Security-Policy enforced (no bypass here): the browser reports no
violation and the page scripts run (docs/security.md)."""

import pytest

from labeling.models import Task
from labeling.services.annotation_tasks import task_assign, tasks_create
from labeling.services.datasets import dataset_create
from tests.e2e.conftest import log_in
from tests.factories import PASSWORD
from tests.labeling.annotation.conftest import make_item

pytestmark = [pytest.mark.stack, pytest.mark.e2e]


def test_pages_run_under_the_policy_without_violations(live_stack, browser, researcher, annotator, team_a):
    dataset = dataset_create(user=researcher, team_id=team_a.pk, name="CSP")
    make_item(dataset, heights=(600, 600))
    tasks_create(dataset=dataset, user=researcher)
    task = task_assign(task=Task.objects.get(dataset=dataset), user=researcher, assignee=annotator)

    context = browser.new_context()  # the policy enforced
    page = context.new_page()
    violations = []
    page.on(
        "console",
        lambda m: ("Content Security Policy" in m.text or "Refused to" in m.text) and violations.append(m.text),
    )
    log_in(page, live_stack.url, "annotator", PASSWORD)
    response = page.goto(f"{live_stack.url}/label/{task.pk}/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("#workspace[data-state=ready]", timeout=20_000)
    for path in ("/label/", "/labeling/", "/", "/gpus/", "/bookings/", "/jobs/"):
        page.goto(f"{live_stack.url}{path}")
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)
    assert violations == []
    page.goto(f"{live_stack.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .information-container", timeout=15_000)
    # And the policy does stop an inline script, were one ever injected.
    page.goto(f"{live_stack.url}/label/")
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';
                             document.body.appendChild(s); }""")
    assert page.evaluate("window.__ran === undefined")
    assert len(violations) == 1 and "script-src" in violations[0], violations
