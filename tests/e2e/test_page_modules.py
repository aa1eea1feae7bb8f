"""Pages whose module scripts no other browser test drives: the export page follows its job through
static/portal/api.js's poll and the realtime events to the download link, and a GPU's page draws its
charts from the metrics API (docs/architecture.md "Front end")."""

import pytest

from labeling.services.datasets import dataset_create
from labeling.services.versions import version_create
from scheduler.models import Gpu
from tests.e2e.conftest import log_in
from tests.factories import PASSWORD
from tests.labeling.builders import box, make_item, make_task
from tests.scheduler.jobs.test_job_execution import wait_for

pytestmark = [pytest.mark.stack, pytest.mark.e2e]


def test_the_export_page_follows_its_job_to_the_download(
    live_stack, page, page_problems, researcher, annotator, team_a
):
    dataset = dataset_create(user=researcher, team_id=team_a.pk, name="Exported")
    make_task(make_item(dataset, name="ep1"), assignee=annotator, status="accepted", shapes=[box("a1", "panel")])
    version = version_create(dataset=dataset, user=researcher, seed=1, note="to export")

    log_in(page, live_stack.url, "researcher", PASSWORD)
    page.goto(f"{live_stack.url}/labeling/versions/{version.pk}/export/")
    page.get_by_role("button", name="Export").click()
    page.wait_for_function("document.getElementById('export-form').dataset.state === 'succeeded'", timeout=60_000)
    link = page.locator("#export-download-link")
    assert link.is_visible()
    assert link.get_attribute("href").endswith("/download/")
    assert page.locator("#export-counts").inner_text() == "1 images, 1 shapes"
    assert page_problems.bad_responses == [] and page_problems.console_errors == []


def test_a_gpus_page_draws_its_charts(live_stack, page, page_problems, researcher):
    wait_for(lambda: Gpu.objects.filter(reading_at__isnull=False).exists())
    gpu = Gpu.objects.filter(reading_at__isnull=False).first()
    log_in(page, live_stack.url, "researcher", PASSWORD)
    page.goto(f"{live_stack.url}/gpus/{gpu.pk}/")
    page.locator("#chart-resolution").filter(has_text="resolution:").wait_for(timeout=15_000)
    assert page.locator("#chart-util canvas").count() >= 1
    assert page_problems.bad_responses == [] and page_problems.console_errors == []
