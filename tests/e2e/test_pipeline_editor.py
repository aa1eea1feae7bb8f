"""A researcher writes a pipeline in the browser: the spec is checked as they type, every problem named
with its path; fixed, it is saved as a new version; then run from its page."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.factories import PASSWORD
from training.models import Pipeline, PipelineRun
from training.services.pipelines import pipeline_create

pytestmark = [pytest.mark.stack, pytest.mark.e2e]
ONE_STEP = "steps:\n  hello: {type: job, parameters: {command: 'echo hello'}}\n"


def test_the_editor_names_each_problem_as_one_types_and_saves_the_fixed_spec(
    live_stack, page, page_problems, researcher, team_a
):
    pipeline = pipeline_create(user=researcher, team_id=team_a.pk, name="hello", text=ONE_STEP)
    log_in(page, live_stack.url, "researcher", PASSWORD)
    page.goto(f"{live_stack.url}/pipelines/")
    page.get_by_role("link", name="hello").click()
    expect(page.locator("#spec-check")).to_contain_text("Valid: 1 step(s)")

    editor = page.locator("#spec-text")
    editor.fill("steps:\n  hello: {type: job, after: [nowhere], parameters: {command: 1}}\n  next: {type: jobb}\n")
    problems = page.locator("#spec-problems li")
    expect(problems).to_have_count(3)
    expect(page.locator("#spec-problems")).to_contain_text("steps.hello.parameters.command")
    expect(page.locator("#spec-problems")).to_contain_text("steps.next.type")
    expect(page.locator("#spec-problems")).to_contain_text("steps.hello.after[0]")

    editor.fill(ONE_STEP + "  next: {type: job, after: [hello], parameters: {command: 'echo next'}}\n")
    expect(page.locator("#spec-check")).to_contain_text("hello (job) → next (job)")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.locator("body")).to_contain_text("Saved as version 2.")
    assert pipeline.versions.count() == 2

    page.get_by_role("button", name="Start run").click()
    page.wait_for_url(lambda url: "/pipelines/runs/" in url)
    run = PipelineRun.objects.get()
    assert run.spec_version.number == 2 and Pipeline.objects.get().pk == run.pipeline_id
    expect(page.locator('g[data-step="next"]')).to_be_visible()
    assert page_problems.console_errors == [] and page_problems.bad_responses == []
