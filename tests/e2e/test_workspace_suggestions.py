"""Suggestions in the workspace, in Chromium against the live stack: a model version's predictions
(recorded through labeling's `predictions_record`, as a pre-label run's ingest records them) are
accepted, adjusted and dismissed with the panel and the keyboard; the stored document says where each
shape came from, and the model version's page counts it (docs/annotation.md "Suggestions")."""

import pytest

from labeling.models import Annotation, Task
from labeling.services.annotation_tasks import task_assign, tasks_create
from labeling.services.datasets import dataset_create
from labeling.services.predictions import predictions_record
from tests.e2e.conftest import CONTEXT_ARGS, log_in
from tests.e2e.test_annotation import imported, open_workspace, shot, strip_png, wait_saved
from tests.factories import PASSWORD
from training.models import ModelVersion
from training.refs import model_version_ref, prelabel_run_ref
from training.services import registry

pytestmark = [pytest.mark.stack, pytest.mark.e2e]

PREDICTED = [
    {"id": "p1", "class": "panel", "type": "box", "box": [40, 40, 300, 200], "score": 0.92},
    {"id": "p2", "class": "panel", "type": "box", "box": [400, 60, 300, 200], "score": 0.71},
    {"id": "p3", "class": "panel", "type": "box", "box": [40, 400, 300, 200], "score": 0.44},
    {"id": "p4", "class": "panel", "type": "box", "box": [400, 400, 300, 200], "score": 0.31},
]


def test_accept_adjust_and_dismiss_suggestions_then_the_model_version_counts_them(
    live_stack, page, page_problems, browser, researcher, annotator, team_a
):
    dataset = dataset_create(user=researcher, team_id=team_a.pk, name="Pre-labelled")
    (item,) = imported(dataset, researcher, [("page.png", strip_png(800, 1200))])
    tasks_create(dataset=dataset, user=researcher)
    task = task_assign(task=Task.objects.get(dataset=dataset), user=researcher, assignee=annotator)
    model = registry.model_create(user=researcher, team_id=team_a.pk, name="panels")
    version = ModelVersion.objects.create(model=model, number=1, format="torch_state_dict", registered_by=researcher)
    recorded = predictions_record(
        item=item,
        run_ref=prelabel_run_ref(run_id=1),
        model_ref=model_version_ref(version_id=version.pk),
        shapes=PREDICTED,
    )
    prediction_id = recorded.prediction.pk

    log_in(page, live_stack.url, "annotator", PASSWORD)
    open_workspace(page, f"{live_stack.url}/label/{task.pk}/")
    entries = page.locator("#suggestion-list li.suggestion-entry")
    entries.first.wait_for(timeout=10_000)
    assert entries.count() == 4 and page.locator("[data-testid=overlay] .suggestion").count() == 4
    assert page.locator("#suggestion-count").inner_text() == "(4 of 4)"
    shot(page, "suggestions")

    # Accept all scoring at least 0.85: p1 only.
    page.locator("#suggestion-threshold").fill("0.85")
    page.locator("#suggestion-accept-all").click()
    assert entries.count() == 3
    # p2 with the panel's button (it becomes the selected shape), then moved 10 px: edited.
    page.get_by_role("button", name="Accept panel 0.71").click()
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Escape")
    # The keyboard: S goes to the best one left (p3), X dismisses it, A accepts the next (p4).
    page.keyboard.press("s")
    assert page.locator("#suggestion-list li.current").get_attribute("data-ref") == f"{prediction_id}:p3"
    page.keyboard.press("x")
    assert page.locator("#suggestion-list li.current").get_attribute("data-ref") == f"{prediction_id}:p4"
    page.keyboard.press("a")
    assert page.locator("#suggestion-list").inner_text().strip() == "None left."
    assert page.locator("#shape-list li").count() == 3
    wait_saved(page)

    saved = {s["origin"]["prediction"]: s for s in Annotation.objects.get(task=task).shapes}
    assert {ref: s["origin"]["kind"] for ref, s in saved.items()} == {
        f"{prediction_id}:p1": "prediction_accepted",
        f"{prediction_id}:p2": "prediction_edited",
        f"{prediction_id}:p4": "prediction_accepted",
    }
    assert saved[f"{prediction_id}:p2"]["box"] == [410, 60, 300, 200]
    assert saved[f"{prediction_id}:p1"]["box"] == [40, 40, 300, 200]
    assert page_problems.console_errors == [] and page_problems.bad_responses == []

    # The researcher sees the figures on the model version's page: 3 of 4 kept, 1 of 3 edited.
    context = browser.new_context(**CONTEXT_ARGS)
    other = context.new_page()
    log_in(other, live_stack.url, "researcher", PASSWORD)
    other.goto(f"{live_stack.url}/models/{model.pk}/versions/1/")
    assert (
        other.locator("[data-figure=acceptance-rate]")
        .inner_text()
        .startswith("75 % (3 of 4 suggestions kept: 2 as predicted, 1 edited)")
    )
    assert other.locator("[data-figure=edit-rate]").inner_text().startswith("33 %")
    context.close()
