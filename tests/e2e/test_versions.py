"""A researcher opens a dataset's versions page, compares two versions and reads the diff: the
changed item with its shape ids, the added item (real daphne + Chromium; rows made in the test
with thumbnails only, so the item viewer itself is not opened)."""

import re

import pytest
from PIL import Image

from labeling import storage
from labeling.models import Slice
from labeling.services.datasets import dataset_create
from labeling.services.versions import version_create
from tests.e2e.conftest import log_in
from tests.factories import PASSWORD
from tests.labeling.builders import box, make_item, make_task, save_document

pytestmark = [pytest.mark.stack, pytest.mark.e2e]


def test_compare_two_versions_and_read_the_diff(live_stack, page, page_problems, researcher, annotator, team_a):
    dataset = dataset_create(user=researcher, team_id=team_a.pk, name="Season 2")
    strip = make_item(dataset, name="ep12_strip")
    task = make_task(strip, assignee=annotator, status="submitted", shapes=[box("a1", "panel"), box("a2", "text")])
    version_create(dataset=dataset, user=researcher, seed=7, note="first pass")
    save_document(task, status="accepted", shapes=[box("a1", "panel", x=4), box("a3", "speech_bubble")])
    added = make_item(dataset, name="ep13_strip")
    version_create(dataset=dataset, user=researcher, seed=7, note="reviewed")
    for image in Slice.objects.filter(dataset=dataset):  # the grid's thumbnails (the rows have no other files)
        folder = storage.tiles_directory(dataset_id=dataset.pk, sha256=image.sha256)
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 160), (230, 230, 240)).save(folder / "thumbnail.jpg")

    log_in(page, live_stack.url, "researcher", PASSWORD)
    page.goto(f"{live_stack.url}/labeling/datasets/{dataset.pk}/")
    page.get_by_role("link", name=re.compile("All versions")).click()
    page.wait_for_url(re.compile(r"/labeling/datasets/\d+/versions/$"))
    assert page.locator("#version-list tbody tr").count() == 2
    page.locator("#compare-base").select_option(label="v1 · first pass")
    page.locator("#compare-other").select_option(label="v2 · reviewed")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url(re.compile(r"/labeling/versions/\d+/\?against=\d+#diff$"))

    assert page.get_by_role("heading", name="Changes from v1 to v2").is_visible()
    row = page.locator(f'#diff-changed tr[data-item="{strip.pk}"]')
    assert row.locator("td").first.inner_text() == "ep12_strip"
    assert row.locator(".shapes-added").inner_text() == "1 a3"
    assert row.locator(".shapes-removed").inner_text() == "1 a2"
    assert row.locator(".shapes-changed").inner_text() == "1 a1"
    assert "submitted → accepted" in row.inner_text()
    assert page.locator("#diff-added").inner_text() == "ep13_strip"
    assert page.locator('#diff-summary [data-count="shapes"]').inner_text() == "shapes: +1 −1 ~1"
    assert page.locator("#diff-added a").get_attribute("href") == f"/labeling/items/{added.pk}/"
    assert page_problems.bad_responses == [], page_problems.bad_responses
    assert page_problems.console_errors == []
