"""A researcher submits a job from the browser, watches its log arrive live, and cancels it."""

import pytest
from django.utils import timezone

from portal.teams.models import Membership
from scheduler.models import Gpu, Job
from tests.e2e.conftest import log_in
from tests.factories import PASSWORD
from tests.scheduler.jobs.test_job_execution import wait_for

pytestmark = [pytest.mark.stack, pytest.mark.e2e]


def test_submit_watch_the_log_live_and_cancel(live_stack, page, page_problems, researcher):
    wait_for(
        lambda: (
            Gpu.objects.filter(node__last_heartbeat__gte=timezone.now() - timezone.timedelta(seconds=5)).count() >= 8
        )
    )
    assert Membership.objects.filter(user=researcher, is_researcher=True).exists()
    log_in(page, live_stack.url, "researcher", PASSWORD)
    page.goto(f"{live_stack.url}/jobs/new/")
    assert "GPU-hours left" in page.locator("body").inner_text()
    page.get_by_label("Name", exact=True).fill("live-log")
    page.get_by_label("Command").fill("for i in 1 2 3; do echo tick-$i; sleep 0.3; done; echo waiting; sleep 300")
    page.get_by_label("Time limit").fill("10m")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(lambda url: "/jobs/new/" not in url)
    page.wait_for_function("document.documentElement.dataset.live === 'connected'")
    log = page.locator("#job-log")
    log.filter(has_text="waiting").wait_for(timeout=30000)
    assert log.inner_text().splitlines()[:4] == ["tick-1", "tick-2", "tick-3", "waiting"]
    page.reload()  # the GPUs card lists the live attempt's GPUs; the agent's ticks fill it in
    util = page.locator('#job-gpus [data-field="util"]').filter(has_text="%").first
    util.wait_for(timeout=15000)
    assert int(util.inner_text().split()[0]) >= 50  # the simulated GPU follows the running job: busy
    log.filter(has_text="waiting").wait_for(timeout=15000)
    page.get_by_role("button", name="Cancel job").click()
    job = Job.objects.get(name="live-log")
    wait_for(lambda: Job.objects.get(pk=job.pk).state == "cancelled", timeout=20)
    page.goto(f"{live_stack.url}/jobs/")
    assert "live-log" in page.locator("#job-table").inner_text()
    assert page_problems.bad_responses == []
    assert page_problems.console_errors == []
