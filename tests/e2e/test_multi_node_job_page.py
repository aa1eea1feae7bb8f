"""A researcher watches a job that spans two nodes: the other node's part log grows on the job page
without a reload, beside rank 0's, until the job is cancelled."""

import pytest
from django.utils import timezone

from scheduler.models import AttemptPart, Gpu, Job
from tests.actors import api_client_for
from tests.e2e.conftest import log_in
from tests.factories import PASSWORD
from tests.scheduler.jobs.test_job_execution import submit, wait_for

pytestmark = [pytest.mark.stack, pytest.mark.e2e]

COMMAND = 'for i in $(seq 120); do echo "rank $NODE_RANK line $i"; sleep 0.5; done'


def test_the_other_parts_log_grows_on_the_page_without_a_reload(live_stack, page, page_problems, researcher):
    wait_for(
        lambda: (
            Gpu.objects.filter(node__last_heartbeat__gte=timezone.now() - timezone.timedelta(seconds=5)).count() >= 8
        )
    )
    job = submit(researcher, gpus=6, multi_node=True, command=COMMAND, time_limit="PT10M")
    wait_for(lambda: AttemptPart.objects.filter(attempt__job=job, state="running").count() == 2, timeout=60)
    log_in(page, live_stack.url, "researcher", PASSWORD)
    page.goto(f"{live_stack.url}/jobs/{job.pk}/")
    page.evaluate("window.notReloaded = true")
    part_log = page.locator("#part-log-1 pre.log")
    shown = part_log.inner_text() if part_log.is_visible() else ""
    later = len([line for line in shown.splitlines() if line.startswith("rank 1 line")]) + 4
    part_log.filter(has_text=f"rank 1 line {later}\n").wait_for(timeout=20000)
    lines = [line for line in part_log.inner_text().splitlines() if line.startswith("rank 1 line")]
    assert lines == [f"rank 1 line {i}" for i in range(1, len(lines) + 1)]  # every line once, in order
    page.locator("#job-log").filter(has_text=f"rank 0 line {later}\n").wait_for(timeout=20000)
    assert page.evaluate("window.notReloaded") is True

    assert api_client_for(researcher).post(f"/api/v1/jobs/{job.pk}/cancel/").status_code in (200, 202)
    wait_for(lambda: Job.objects.get(pk=job.pk).state == "cancelled", timeout=30)
    page.locator("#job-state").filter(has_text="Cancelled").wait_for(timeout=15000)
    assert page_problems.console_errors == [] and page_problems.bad_responses == []
