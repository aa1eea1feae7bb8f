"""A researcher submits a job from the browser, watches its log arrive live, and cancels it."""

import shutil

import pytest
from django.conf import settings
from django.utils import timezone

from portal.teams.models import Membership
from scheduler.models import Gpu, Job
from scheduler.services.environments import SHIPPED_NAME
from tests.actors import api_client_for
from tests.e2e.conftest import log_in
from tests.factories import PASSWORD
from tests.scheduler.jobs.test_job_execution import submit, wait_for

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
    # One story while it runs, without a reload: the badge and the attempt agree.
    page.locator("#job-state").filter(has_text="Running").wait_for(timeout=15000)
    page.locator("#job-live table").filter(has_text="Running").wait_for(timeout=15000)
    assert "Not started yet" not in page.locator("#job-live").inner_text()
    page.reload()  # the GPUs card lists the live attempt's GPUs; the agent's ticks fill it in
    util = page.locator('#job-gpus [data-field="util"]').filter(has_text="%").first
    util.wait_for(timeout=15000)
    assert int(util.inner_text().split()[0]) >= 50  # the simulated GPU follows the running job: busy
    log.filter(has_text="waiting").wait_for(timeout=15000)
    job = Job.objects.get(name="live-log")
    page.once("dialog", lambda dialog: dialog.dismiss())  # the person changes their mind
    page.get_by_role("button", name="Cancel job").click()
    page.wait_for_timeout(500)  # a submitted form would have posted by now
    assert Job.objects.get(pk=job.pk).cancel_requested_at is None
    prompts = []
    page.once("dialog", lambda dialog: (prompts.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Cancel job").click()
    wait_for(lambda: Job.objects.get(pk=job.pk).state == "cancelled", timeout=20)
    assert prompts and "cannot be undone" in prompts[0]
    # One story without a reload: the badge and the attempts table both say cancelled.
    page.locator("#job-state").filter(has_text="Cancelled").wait_for(timeout=15000)
    page.locator("#job-live table").filter(has_text="Cancelled").wait_for(timeout=15000)
    assert "Running" not in page.locator("#job-live").inner_text()
    page.goto(f"{live_stack.url}/jobs/")
    assert "live-log" in page.locator("#job-table").inner_text()
    assert page_problems.bad_responses == []
    assert page_problems.console_errors == []


def test_the_example_training_runs_from_the_form_in_the_default_environment(
    live_stack, page, page_problems, researcher
):
    """Issue 20: `python examples/train.py` typed in the form, as the placeholder suggests, runs in the
    shipped environment (with torch), not the worker's bare PATH."""
    wait_for(
        lambda: (
            Gpu.objects.filter(node__last_heartbeat__gte=timezone.now() - timezone.timedelta(seconds=5)).count() >= 8
        )
    )
    # `make run`'s work root is the project folder; the tests' is their own: the example goes there.
    work_root = settings.JOB_WORKDIR_ROOT
    (work_root / "examples").mkdir(exist_ok=True)
    shutil.copy(settings.BASE_DIR / "examples" / "train.py", work_root / "examples" / "train.py")
    log_in(page, live_stack.url, "researcher", PASSWORD)
    page.goto(f"{live_stack.url}/jobs/new/")
    command = page.get_by_label("Command")
    assert command.get_attribute("placeholder").startswith("python examples/train.py")
    assert page.get_by_label("Runtime environment").input_value() == SHIPPED_NAME
    page.get_by_label("Name", exact=True).fill("first-training")
    command.fill("python examples/train.py")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(lambda url: "/jobs/new/" not in url)
    job = Job.objects.get(name="first-training")
    wait_for(lambda: Job.objects.get(pk=job.pk).ended_at is not None, timeout=120)
    page.reload()
    assert page.locator("#job-state").inner_text() == "Succeeded", Job.objects.get(pk=job.pk).state_reason
    assert "No module named" not in page.locator("#job-log").inner_text()
    assert page.locator("#job-environment").inner_text().startswith(SHIPPED_NAME)
    outputs = page.locator("#job-outputs")  # what train.py writes, downloadable from the page
    assert "model.pt" in outputs.inner_text() and "metrics.json" in outputs.inner_text()
    page.locator("#job-chart-util .uplot").wait_for(timeout=10000)  # its GPU use, drawn
    assert page.locator("#job-chart-status").inner_text() != "loading…"
    assert page_problems.bad_responses == []
    assert page_problems.console_errors == []


# 100,000 three-byte characters: the first 256 KiB chunk would end inside one. Then a byte that is not
# UTF-8 (octal 377: the job's /bin/sh is dash), shown as one replacement mark, and a line after it.
UNICODE_COMMAND = (
    "echo start; while [ ! -e GATE ]; do sleep 0.1; done; "
    "python3 -c 'print(\"가\" * 100000)'; printf 'bad \\377 byte\\nend\\n'; sleep 300"
)


def test_a_live_log_with_korean_across_a_chunk_and_a_bad_byte_shows_every_character_once(
    live_stack, page, page_problems, researcher, gate
):
    """The log arrives as events while the page is open: each chunk's text and byte offsets agree, so
    nothing is cut, doubled or shifted after the chunk boundary or the invalid byte."""
    job = submit(researcher, command=UNICODE_COMMAND.replace("GATE", str(gate)), time_limit="PT10M")
    log_in(page, live_stack.url, "researcher", PASSWORD)
    page.goto(f"{live_stack.url}/jobs/{job.pk}/")
    page.wait_for_function("document.documentElement.dataset.live === 'connected'")
    log = page.locator("#job-log")
    log.filter(has_text="start").wait_for(timeout=30000)
    gate.touch()
    log.filter(has_text="end").wait_for(timeout=30000)
    page.wait_for_timeout(500)  # a shifted or doubled chunk would have arrived by now
    assert log.inner_text() == "start\n" + "가" * 100000 + "\nbad \ufffd byte\nend\n"
    assert api_client_for(researcher).post(f"/api/v1/jobs/{job.pk}/cancel/").status_code in (200, 202)
    assert page_problems.bad_responses == [] and page_problems.console_errors == []
