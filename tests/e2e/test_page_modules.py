"""Pages whose module scripts no other browser test drives: the export page follows its job through
static/portal/api.js's poll and the realtime events to the download link, and a GPU's page draws its
charts from the metrics API (docs/architecture.md "Front end"). And the workspace's modules
(static/labeling/workspace/, docs/annotation.md "The workspace's front end") each load, under the
Content-Security-Policy, with no console error on the annotation and review pages."""

from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from labeling.models import Task, TaskStatus
from labeling.services.datasets import dataset_create
from labeling.services.versions import version_create
from scheduler.models import Gpu
from tests.e2e.conftest import log_in
from tests.e2e.test_annotation import assigned_task, imported, strip_png, webtoon_dataset
from tests.factories import PASSWORD
from tests.labeling.builders import box, make_item, make_task
from tests.scheduler.jobs.test_job_execution import wait_for

pytestmark = [pytest.mark.stack, pytest.mark.e2e]

STATIC = Path(__file__).resolve().parents[2] / "static"
# The entry module the template loads, the suggestions module and every module under workspace/ (a new
# one is covered as it comes).
WORKSPACE_MODULES = ["labeling/workspace.js", "labeling/suggestions.js"] + sorted(
    p.relative_to(STATIC).as_posix() for p in (STATIC / "labeling" / "workspace").glob("*.js")
)


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


def modules_loaded(browser, live_stack, username: str, url: str) -> tuple[dict[str, int], list[str]]:
    """Open a workspace page with the policy enforced; the status of each workspace module fetched, and
    the console errors (CSP violations included) and page errors seen until the viewer has opened."""
    page = browser.new_context().new_page()  # no CSP bypass: modules must load under the policy
    statuses: dict[str, int] = {}
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def seen(response):
        path = urlparse(response.url).path
        if path.startswith("/static/labeling/") and path.endswith(".js"):
            statuses[path.removeprefix("/static/")] = response.status

    page.on("response", seen)
    log_in(page, live_stack.url, username, PASSWORD)
    page.goto(url)
    try:
        page.wait_for_selector("#workspace[data-state=ready]", timeout=30_000)
        page.wait_for_selector("#viewer[data-opened=true]", state="attached", timeout=30_000)
    except PlaywrightTimeoutError:
        pytest.fail(f"{url}: the workspace did not open; errors: {errors}")
    page.wait_for_timeout(300)
    page.context.close()
    return statuses, errors


def test_each_workspace_module_loads_without_errors_on_the_annotation_and_review_pages(
    live_stack, browser, researcher, annotator, reviewer, team_a
):
    assert len(WORKSPACE_MODULES) >= 6  # the entry and its modules (viewer, shapes, save, review, keyboard…)
    dataset = webtoon_dataset(team_a, researcher, name="Modules")
    imported(dataset, researcher, [("strip.png", strip_png(800, 1_200))])
    task = assigned_task(dataset, researcher, annotator)

    statuses, errors = modules_loaded(browser, live_stack, "annotator", f"{live_stack.url}/label/{task.pk}/")
    assert {m: statuses.get(m) for m in WORKSPACE_MODULES} == dict.fromkeys(WORKSPACE_MODULES, 200)
    assert errors == []

    Task.objects.filter(pk=task.pk).update(status=TaskStatus.SUBMITTED)
    statuses, errors = modules_loaded(browser, live_stack, "reviewer", f"{live_stack.url}/review/{task.pk}/")
    assert {m: statuses.get(m) for m in WORKSPACE_MODULES} == dict.fromkeys(WORKSPACE_MODULES, 200)
    assert errors == []
