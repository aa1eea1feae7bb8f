"""Lineage both ways in a browser: a dataset version's page lists the job that read it and the model
registered from that job; the model version's page leads back through the job to the dataset version
(real daphne + Chromium; rows made in the test)."""

import re

import pytest

from labeling.services.datasets import dataset_create
from labeling.services.versions import version_create
from tests.e2e.conftest import log_in
from tests.factories import PASSWORD
from tests.labeling.builders import make_item
from tests.training.lineage_builders import build_lineage

pytestmark = [pytest.mark.stack, pytest.mark.e2e]


def test_the_lineage_pages_lead_both_ways(live_stack, page, page_problems, researcher, team_a):
    dataset = dataset_create(user=researcher, team_id=team_a.pk, name="Season 3")
    make_item(dataset, name="ep1_strip")
    version = version_create(dataset=dataset, user=researcher, seed=7, note="for the detector")
    built = build_lineage(researcher=researcher, team=team_a, version=version)

    log_in(page, live_stack.url, "researcher", PASSWORD)
    page.goto(f"{live_stack.url}/labeling/versions/{version.pk}/")
    lineage = page.locator("#lineage")
    assert lineage.get_by_role("heading", name="Lineage").is_visible()
    assert lineage.locator("#lineage-models li").all_inner_texts()[1].startswith("detector v1")
    assert lineage.locator(f'#lineage-jobs tr[data-job="{built.trained.pk}"]').inner_text().count(" v1") == 2
    assert lineage.locator(f'#lineage-jobs tr[data-job="{built.unregistered.pk}"]').is_visible()

    lineage.locator("#lineage-models").get_by_role("link", name="detector v1").click()
    page.wait_for_url(re.compile(rf"/models/{built.detector_v1.model_id}/versions/1/$"))
    chain = page.locator("#lineage-chain li")
    assert chain.nth(1).get_by_role("link").inner_text() == f"{built.trained.pk} · train"
    assert chain.nth(3).get_by_role("link").inner_text() == "Season 3"

    chain.nth(2).get_by_role("link", name="v1").click()
    page.wait_for_url(re.compile(rf"/labeling/versions/{version.pk}/$"))
    assert page.locator("#lineage-models").get_by_role("link", name="segmenter v1").is_visible()
    assert page_problems.bad_responses == [], page_problems.bad_responses
    assert page_problems.console_errors == []
