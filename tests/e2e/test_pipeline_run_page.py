"""A researcher watches a pipeline run's graph move live: steps turn from waiting to running to
succeeded without a reload, with links to their jobs."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from scheduler.models import Attempt, Gpu
from tests.actors import api_client_for
from tests.e2e.conftest import log_in
from tests.factories import PASSWORD
from tests.scheduler.jobs.test_job_execution import wait_for
from training.models import PipelineRun, StepRun
from training.services.pipeline_runs import pipeline_run_start
from training.services.pipelines import pipeline_create

pytestmark = [pytest.mark.stack, pytest.mark.e2e]
# The first step runs until the test opens its gate (a file in /tmp the job account can see), so the
# page is checked while the step is running however slow the machine is; a fixed sleep raced CI.
SPEC = """
steps:
  prepare:
    type: job
    parameters: {command: 'while [ ! -e GATE ]; do sleep 0.2; done; echo ready > "$ATELIER_OUTPUT_DIR/ready.txt"'}
    outputs: {ready: ready.txt}
  use:
    type: job
    inputs: {ready: "{{ steps.prepare.outputs.ready }}"}
    parameters: {command: 'cat "$ATELIER_INPUT_READY"'}
"""


def prepare_job_running(run) -> bool:
    job_id = StepRun.objects.filter(run=run, name="prepare").values_list("job_id", flat=True).first()
    return Attempt.objects.filter(job_id=job_id, state="running").exists() if job_id else False


def job_log(user, job_id) -> str:
    return api_client_for(user).get(f"/api/v1/jobs/{job_id}/log/").json()["data"] if job_id else ""


def test_the_run_graph_follows_the_run_live(live_stack, page, page_problems, researcher, team_a, gate):
    wait_for(
        lambda: (
            Gpu.objects.filter(node__last_heartbeat__gte=timezone.now() - timezone.timedelta(seconds=5)).count() >= 8
        )
    )
    pipeline = pipeline_create(
        user=researcher, team_id=team_a.pk, name="two steps", text=SPEC.replace("GATE", str(gate))
    )
    log_in(page, live_stack.url, "researcher", PASSWORD)
    held = []  # the page's socket, kept from the server until the test lets it through
    page.route_web_socket(re.compile(r"/ws/events/"), lambda socket: held.append(socket))
    run = pipeline_run_start(user=researcher, pipeline=pipeline)
    page.goto(f"{live_stack.url}/pipelines/runs/{run.pk}/")
    page.evaluate("window.notReloaded = true")
    prepare, use = page.locator('g[data-step="prepare"]'), page.locator('g[data-step="use"]')
    # The step starts and its job runs while the page has no socket to the server: those events never
    # reach it, so the page must read the run again when its socket connects (CI saw a page stuck on
    # "waiting" when the step started between the render and the socket's opening).
    for _ in range(100):  # the route's handler runs while Playwright is called: let it
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the page opened no socket"
    wait_for(lambda: prepare_job_running(run), timeout=60)
    held[0].connect_to_server()
    page.wait_for_function("document.documentElement.dataset.live === 'connected'")
    expect(prepare).to_have_attribute("data-state", "running", timeout=15000)
    expect(use).to_have_attribute("data-state", "waiting")
    expect(prepare.locator("a.dag-link")).to_have_attribute("href", re.compile(r"^/jobs/\d+/$"))
    gate.touch()
    wait_for(lambda: PipelineRun.objects.get(pk=run.pk).finished_at, timeout=60)
    ended = PipelineRun.objects.get(pk=run.pk)
    assert ended.state == "succeeded", (ended.error, [job_log(researcher, s.job_id) for s in ended.steps.all()])
    expect(use).to_have_attribute("data-state", "succeeded", timeout=15000)
    expect(page.locator("#run-state")).to_have_text("Succeeded")
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator('#run-steps tr[data-step="use"]')).to_contain_text("Not cached")
    assert page_problems.console_errors == [] and page_problems.bad_responses == []
