"""A researcher creates a dataset, drops 20 generated files with progress, sees the thumbnails, and
opens a strip whose Deep Zoom tiles OpenSeadragon loads (real daphne + Celery worker + Chromium)."""

import io
import os
import re

import pytest
from PIL import Image, ImageDraw

from labeling.models import Dataset, ImportJob, Item
from tests.e2e.conftest import log_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.stack, pytest.mark.e2e]

TILE_URL = re.compile(r"/api/v1/images/\d+/tiles/image_files/\d+/\d+_\d+\.jpeg$")


def shot(page, name: str) -> None:
    """Screenshots for a person to look at, when ATELIER_E2E_SCREENSHOTS names a folder."""
    folder = os.environ.get("ATELIER_E2E_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"datasets-{name}.png"), full_page=True)


def generated_files(count: int) -> list[dict]:
    files = []
    for index in range(count):
        height = 3000 if index == 0 else 400 + index * 10  # one tall strip among small pages
        image = Image.new("RGB", (400, height), (255, 255 - index * 8, 200))
        draw = ImageDraw.Draw(image)
        for y in range(0, height, 97 + index):
            draw.rectangle((20, y, 380, y + 40), outline=(0, 0, 0), width=3)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        files.append({"name": f"page_{index:02d}.png", "mimeType": "image/png", "buffer": buffer.getvalue()})
    return files


def test_upload_20_files_see_thumbnails_and_open_a_strip(live_stack, page, page_problems, researcher):
    log_in(page, live_stack.url, "researcher", PASSWORD)
    page.goto(f"{live_stack.url}/labeling/")
    page.get_by_label("Name").fill("E2E strips")
    page.get_by_role("button", name="Create dataset").click()
    page.wait_for_url(re.compile(r"/labeling/datasets/\d+/$"))
    dataset = Dataset.objects.get(name="E2E strips")

    page.get_by_role("button", name="Upload images").click()
    page.wait_for_url(re.compile(r"/upload/$"))
    page.set_input_files("#file-input", generated_files(20))
    assert page.locator("#file-rows tr").count() == 20
    page.get_by_role("button", name="Upload").click()
    page.wait_for_function("document.getElementById('upload-form').dataset.state === 'succeeded'", timeout=120_000)
    assert page.locator("#overall-progress").evaluate("bar => bar.value") == 1
    assert page.locator("#file-rows progress").evaluate_all("bars => bars.every(bar => bar.value === 1)")
    assert page.locator('#file-rows tr[data-outcome="accepted"]').count() == 20
    assert "20 accepted, 0 refused" in page.locator("#overall-counts").inner_text()
    assert ImportJob.objects.get(dataset=dataset).accepted == 20
    shot(page, "upload")

    page.get_by_role("link", name="See the dataset").click()
    thumbnails = page.locator("#thumb-grid img")
    assert thumbnails.count() == 20
    page.wait_for_function(
        "Array.from(document.querySelectorAll('#thumb-grid img')).every(img => img.complete && img.naturalWidth > 0)"
    )

    shot(page, "grid")
    tile_responses = []
    page.on("response", lambda r: TILE_URL.search(r.url) and tile_responses.append(r.status))
    strip = Item.objects.get(dataset=dataset, name="page_00.png")
    page.locator(f'#thumb-grid a[href="/labeling/items/{strip.pk}/"]').click()
    page.wait_for_function("document.getElementById('viewer').dataset.opened === 'true'")
    page.wait_for_function("Number(document.getElementById('viewer').dataset.tilesLoaded || 0) >= 2", timeout=30_000)
    assert page.locator("#viewer canvas").count() >= 1
    page.wait_for_timeout(500)
    shot(page, "viewer")
    assert tile_responses and set(tile_responses) == {200}
    # The page's zoom buttons (OpenSeadragon's image buttons are off).
    zoom = "atelierViewer.viewport.getZoom()"
    fitted = page.evaluate(zoom)
    page.get_by_role("button", name="Zoom in").click()
    page.wait_for_function(f"{zoom} > {fitted} * 1.2")
    page.get_by_role("button", name="Fit width").click()
    page.wait_for_function(f"Math.abs({zoom} - {fitted}) < {fitted} * 0.01")
    assert page.locator("#viewer img[src*='zoomin']").count() == 0
    # Never the whole strip at full size: the top level is tiled, never fetched whole.
    assert not any("/original/" in url for url in page_problems.bad_responses)
    assert page_problems.bad_responses == []
    assert page_problems.console_errors == []
