"""The annotation workspace and review page in Chromium against the live stack.

Images are generated with Pillow and imported by the real worker, so the viewer loads real Deep Zoom
tiles. Drawing goes through the mouse and keyboard; `atelierWorkspace.clientPoint(x, y)` turns item
pixels into screen pixels so a test can aim at a given episode coordinate.
"""

import io
import os
import re
import time

import pytest
from django.contrib.sessions.models import Session
from PIL import Image, ImageDraw

from labeling.models import Annotation, ImportState, Item, Review, Task
from labeling.services.annotation_tasks import task_assign, tasks_create
from labeling.services.datasets import dataset_create, series_create
from labeling.services.imports import upload_import_create
from tests.e2e.conftest import CONTEXT_ARGS, log_in
from tests.factories import PASSWORD
from tests.labeling.conftest import upload

pytestmark = [pytest.mark.stack, pytest.mark.e2e]

WAIT_IMPORT_SECONDS = 120


# ------------------------------------------------------------------ data


def strip_png(width: int, height: int, *, seed: int = 0, marks=()) -> bytes:
    """A light strip with a grid every 500 px and dark rectangles at `marks` (x0, y0, x1, y1)."""
    image = Image.new("RGB", (width, height), (250, 246 - seed * 20, 235))
    draw = ImageDraw.Draw(image)
    for y in range(0, height, 500):
        draw.line((0, y, width, y), fill=(180, 180, 200), width=2)
    for mark in marks:
        draw.rectangle(mark, fill=(20, 20, 20))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def finished(job, states):
    """The job row once the worker has moved it to one of `states` (or as it is at the deadline)."""
    deadline = time.monotonic() + WAIT_IMPORT_SECONDS
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.state in states:
            break
        time.sleep(0.2)
    return job


def imported(dataset, user, files, **options) -> list[Item]:
    job = upload_import_create(dataset=dataset, user=user, files=[upload(n, d) for n, d in files], **options)
    job = finished(job, (ImportState.SUCCEEDED, ImportState.FAILED))
    assert job.state == ImportState.SUCCEEDED and job.accepted == len(files), (job.state, job.accepted)
    return list(Item.objects.filter(dataset=dataset).order_by("id"))


def coco_export(dataset, researcher) -> dict:
    """Freeze a version and export it to COCO through the real worker; every split's JSON merged."""
    import json
    import zipfile

    from labeling.models import ExportState
    from labeling.services.exports import export_create
    from labeling.services.versions import version_create
    from labeling.storage import export_path

    version = version_create(dataset=dataset, user=researcher, seed=1, ratios={"train": 1, "val": 0, "test": 0})
    job = finished(
        export_create(version=version, user=researcher, format="coco", options={}),
        (ExportState.SUCCEEDED, ExportState.FAILED),
    )
    assert job.state == ExportState.SUCCEEDED, (job.state, job.error)
    merged = {"images": [], "annotations": []}
    with zipfile.ZipFile(export_path(dataset_id=dataset.pk, job_id=job.pk)) as archive:
        for name in archive.namelist():
            if name.startswith("annotations/") and name.endswith(".json"):
                body = json.loads(archive.read(name))
                merged["images"] += body["images"]
                merged["annotations"] += body["annotations"]
    return merged


def webtoon_dataset(team, researcher, *, name="Webtoon", characters=("Minji", "Doyun"), schema=None):
    series = series_create(team_id=team.pk, title=f"{name} series", characters=list(characters))
    return dataset_create(user=researcher, team_id=team.pk, name=name, series_id=series.pk, label_schema=schema)


def assigned_task(dataset, researcher, annotator) -> Task:
    tasks_create(dataset=dataset, user=researcher)
    return task_assign(task=Task.objects.get(dataset=dataset), user=researcher, assignee=annotator)


# ------------------------------------------------------------------ page helpers


def shot(page, name: str) -> None:
    folder = os.environ.get("ATELIER_E2E_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"annotation-{name}.png"))


def open_workspace(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#workspace[data-state=ready]", timeout=20_000)
    page.wait_for_function("document.getElementById('viewer').dataset.opened === 'true'", timeout=20_000)


def at(page, x: float, y: float) -> tuple[float, float]:
    point = page.evaluate("([x, y]) => atelierWorkspace.clientPoint(x, y)", [x, y])
    return point["x"], point["y"]


def show(page, y: float) -> None:
    """Scroll the viewer so item row y is near the top of the view (no animation)."""
    page.evaluate(
        """y => { const v = atelierWorkspace.viewer(), u = atelierWorkspace.state.unit;
        const b = v.viewport.getBounds(true);
        v.viewport.panTo(new OpenSeadragon.Point(b.x + b.width / 2, y / u + b.height / 2 - 40 / u), true); }""",
        y,
    )
    page.wait_for_timeout(100)


def drag_box(page, x0, y0, x1, y1) -> None:
    sx, sy = at(page, x0, y0)
    ex, ey = at(page, x1, y1)
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move((sx + ex) / 2, (sy + ey) / 2, steps=3)
    page.mouse.move(ex, ey, steps=3)
    page.mouse.up()


def click_item(page, x, y) -> None:
    sx, sy = at(page, x, y)
    page.mouse.click(sx, sy)


def wait_saved(page, timeout=15_000) -> None:
    page.wait_for_function("document.getElementById('save-status').dataset.state === 'saved'", timeout=timeout)


def server_doc(task) -> Annotation:
    return Annotation.objects.get(task=task)


def shape_of(annotation, cls):
    return [s for s in annotation.shapes if s["class"] == cls]


def close(a, b, tolerance=2.0) -> bool:
    return all(abs(p - q) <= tolerance for p, q in zip(a, b))


# ------------------------------------------------------------------ the whole review loop


def test_label_a_20000_px_strip_reload_submit_reject_fix_and_accept(
    live_stack, browser, researcher, annotator, reviewer, team_a
):
    dataset = webtoon_dataset(team_a, researcher)
    imported(dataset, researcher, [("tall.png", strip_png(800, 20_000, marks=[(100, 9000, 300, 9200)]))])
    tasks_create(dataset=dataset, user=researcher)
    task = Task.objects.get(dataset=dataset)

    annotator_context = browser.new_context(viewport={"width": 1400, "height": 900}, **CONTEXT_ARGS)
    page = annotator_context.new_page()
    dialogs, errors = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    tiles = []
    page.on("response", lambda r: "/tiles/" in r.url and tiles.append(r.url))
    log_in(page, live_stack.url, "annotator", PASSWORD)

    # The queue's "Next task" claims the strip and opens the workspace.
    page.goto(f"{live_stack.url}/label/")
    page.get_by_role("button", name="Next task").click()
    page.wait_for_url(re.compile(rf"/label/{task.pk}/$"))
    page.wait_for_selector("#workspace[data-state=ready]")
    page.wait_for_function("document.getElementById('viewer').dataset.opened === 'true'")
    page.wait_for_function("Number(document.getElementById('viewer').dataset.tilesLoaded || 0) >= 2")
    assert not any("/original/" in url for url in tiles)  # tiles only, never the whole strip

    # Three boxes by hotkey: character (3), text (4), speech bubble (2); then an SFX polygon (5, P).
    page.keyboard.press("3")
    drag_box(page, 60, 40, 260, 300)
    page.keyboard.press("4")
    drag_box(page, 320, 60, 620, 180)
    page.keyboard.press("2")
    drag_box(page, 300, 40, 660, 220)
    page.keyboard.press("5")
    page.keyboard.press("p")
    for x, y in [(100, 360), (400, 340), (420, 480), (120, 470)]:
        click_item(page, x, y)
    page.keyboard.press("Enter")
    assert page.locator("#shape-list li").count() == 4

    # Far down the strip: a panel around the mark at y 9000..9200 (only its tiles load).
    show(page, 8900)
    page.keyboard.press("1")
    page.keyboard.press("b")
    drag_box(page, 100, 9000, 300, 9200)

    # The character: picked from the series' registry by name.
    page.locator("#shape-list li", has_text="character").locator("button").click()
    page.locator("#attr-name").fill("Min")
    page.locator("#attr-name").press("Tab")
    # The text: its transcription, and its speaker.
    page.locator("#shape-list li", has_text="text").locator("button").click()
    page.locator("#attr-transcription").fill("안녕! <b>hi</b>")
    page.locator("#attr-language").select_option("ko")
    page.get_by_role("button", name="Link speaker → character").click()
    show(page, 0)
    click_item(page, 160, 170)
    assert page.locator("#relation-list li[data-type=speaker]").count() == 1
    wait_saved(page)

    saved = server_doc(task)
    assert len(saved.shapes) == 5
    (character,) = shape_of(saved, "character")
    (text,) = shape_of(saved, "text")
    (panel,) = shape_of(saved, "panel")
    (sfx,) = shape_of(saved, "sfx")
    assert close(character["box"], [60, 40, 200, 260]) and close(panel["box"], [100, 9000, 200, 200])
    assert sfx["type"] == "polygon" and close(sfx["points"][2], [420, 480])
    minji = dataset.series.characters.get(name="Minji")
    assert character["attributes"] == {"name": minji.pk}
    assert text["attributes"] == {"transcription": "안녕! <b>hi</b>", "language": "ko"}
    assert saved.relations == [
        {"id": saved.relations[0]["id"], "type": "speaker", "from": text["id"], "to": character["id"]}
    ]

    # Reload: everything is there.
    page.reload()
    page.wait_for_selector("#workspace[data-state=ready]")
    assert page.locator("#shape-list li").count() == 5
    assert page.locator("#shape-list").inner_text().count("Minji") == 1
    page.locator("#shape-list li", has_text="text").locator("button").click()
    assert page.locator("#attr-transcription").input_value() == "안녕! <b>hi</b>"
    assert page.locator("#relation-list li[data-type=speaker]").count() == 1
    # Reading order: top to bottom, the panel at y 9000 last.
    assert page.locator("#shape-list li").last.inner_text().find("panel") >= 0
    assert page.locator("#overview [data-testid=overview-view]").count() == 1  # the overview's frame
    # Delete, undo, redo by keyboard; the help overlay.
    page.locator("#shape-list li", has_text="sfx").locator("button").click()
    page.keyboard.press("Delete")
    assert page.locator("#shape-list li").count() == 4
    page.keyboard.press("Control+z")
    assert page.locator("#shape-list li").count() == 5
    page.keyboard.press("Control+Shift+z")
    assert page.locator("#shape-list li").count() == 4
    page.keyboard.press("Control+z")
    assert page.locator("#shape-list li").count() == 5
    page.keyboard.press("?")
    assert page.locator("#help-dialog").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#help-dialog").is_visible()
    wait_saved(page)
    assert len(server_doc(task).shapes) == 5
    shot(page, "workspace")

    page.get_by_role("button", name="Submit").click()
    page.wait_for_function("document.getElementById('workspace').dataset.taskStatus === 'submitted'")
    task.refresh_from_db()
    assert task.status == "submitted"

    # The reviewer rejects with a comment pinned to the text shape.
    reviewer_context = browser.new_context(viewport={"width": 1400, "height": 900}, **CONTEXT_ARGS)
    review_page = reviewer_context.new_page()
    review_page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(review_page, live_stack.url, "reviewer", PASSWORD)
    review_page.goto(f"{live_stack.url}/label/")
    review_page.locator(f'#review-task-rows a[href="/review/{task.pk}/"]').click()
    open_workspace(review_page, f"{live_stack.url}/review/{task.pk}/")
    assert review_page.locator("#shape-list li").count() == 5
    review_page.get_by_role("button", name="Reject").click()
    assert "comment" in review_page.locator("#ws-message").inner_text()
    review_page.locator("#shape-list li", has_text="text").locator("button").click()
    review_page.locator("#review-comment").fill("The speaker is Doyun, not Minji.")
    review_page.locator("#review-pin").check()
    review_page.get_by_role("button", name="Reject").click()
    review_page.wait_for_function("document.getElementById('workspace').dataset.taskStatus === 'rejected'")
    rejection = Review.objects.get(task=task)
    assert (rejection.decision, rejection.shape_id) == ("reject", text["id"])

    page.bring_to_front()
    # The annotator sees the comment and the pinned shape, fixes the character and resubmits.
    open_workspace(page, f"{live_stack.url}/label/{task.pk}/")
    assert page.locator("#review-banner").is_visible()
    assert "The speaker is Doyun, not Minji." in page.locator("#review-banner").inner_text()
    assert page.locator(f'#viewer .shape.pinned[data-id="{text["id"]}"]').count() == 1
    page.get_by_role("button", name="Show the shape").click()
    page.locator("#shape-list li", has_text="character").locator("button").click()
    page.locator("#attr-name").fill("Doyun")
    page.locator("#attr-name").press("Tab")
    wait_saved(page)
    page.get_by_role("button", name="Submit").click()
    page.wait_for_function("document.getElementById('workspace').dataset.taskStatus === 'submitted'")

    # The reviewer accepts.
    review_page.bring_to_front()
    open_workspace(review_page, f"{live_stack.url}/review/{task.pk}/")
    review_page.get_by_role("button", name="Accept").click()
    review_page.wait_for_function("document.getElementById('workspace').dataset.taskStatus === 'accepted'")
    task.refresh_from_db()
    assert task.status == "accepted"
    final = server_doc(task)
    assert shape_of(final, "character")[0]["attributes"] == {"name": dataset.series.characters.get(name="Doyun").pk}
    assert close(shape_of(final, "panel")[0]["box"], [100, 9000, 200, 200])
    assert dialogs == [] and errors == []

    # A frozen version's COCO export holds those shapes at the strip's coordinates.
    coco = coco_export(dataset, researcher)
    exported = {a["atelier"]["shape"]: a for a in coco["annotations"]}
    assert set(exported) == {s["id"] for s in final.shapes if s["type"] != "tag"}
    panel_id = shape_of(final, "panel")[0]["id"]
    assert close(exported[panel_id]["bbox"], [100, 9000, 200, 200])
    assert (
        exported[text["id"]]["attributes"]["transcription"] == shape_of(final, "text")[0]["attributes"]["transcription"]
    )


def test_an_episode_of_3_slices_keeps_a_shape_across_a_slice_boundary(live_stack, page, researcher, annotator, team_a):
    dataset = webtoon_dataset(team_a, researcher, name="Episodes")
    # A dark mark split over slices 0 and 1: episode rows 500..700 (slice 0 ends at 600).
    files = [
        ("ep_00.png", strip_png(800, 600, seed=0, marks=[(100, 500, 300, 600)])),
        ("ep_01.png", strip_png(800, 600, seed=1, marks=[(100, 0, 300, 100)])),
        ("ep_02.png", strip_png(800, 600, seed=2)),
    ]
    (item,) = imported(dataset, researcher, files, as_episode=True, episode_name="Episode 1")
    assert (item.kind, item.height) == ("episode", 1800)
    task = assigned_task(dataset, researcher, annotator)

    log_in(page, live_stack.url, "annotator", PASSWORD)
    open_workspace(page, f"{live_stack.url}/label/{task.pk}/")
    show(page, 400)
    page.wait_for_timeout(800)  # tiles of slices 0 and 1 painted
    # The tiles sit at their offsets: the mark is dark on both sides of the boundary, light around it.
    shot_bytes = page.screenshot()
    picture = Image.open(io.BytesIO(shot_bytes)).convert("L")
    ratio = page.evaluate("window.devicePixelRatio")
    for (x, y), dark in [((200, 550), True), ((200, 650), True), ((200, 450), False), ((200, 750), False)]:
        sx, sy = at(page, x, y)
        value = picture.getpixel((int(sx * ratio), int(sy * ratio)))
        assert (value < 80) == dark, (x, y, value)

    page.keyboard.press("1")
    drag_box(page, 100, 500, 300, 700)
    wait_saved(page)
    (panel,) = server_doc(task).shapes
    assert close(panel["box"], [100, 500, 200, 200])

    # Exported per slice (docs/decisions.md §7): two parts, one per slice, linked by one group id.
    coco = coco_export(dataset, researcher)
    offsets = {image["id"]: image["atelier"]["offset_y"] for image in coco["images"]}
    parts = sorted(coco["annotations"], key=lambda a: offsets[a["image_id"]])
    assert [offsets[p["image_id"]] for p in parts] == [0, 600]
    assert close(parts[0]["bbox"], [100, 500, 200, 100]) and close(parts[1]["bbox"], [100, 0, 200, 100])
    assert parts[0]["atelier"]["group"] is not None and parts[0]["atelier"]["group"] == parts[1]["atelier"]["group"]

    # The page's own zoom buttons (OpenSeadragon's image buttons are off): in, out, and back to the
    # width of the episode at its top.
    zoom = "atelierWorkspace.viewer().viewport.getZoom()"
    fitted = page.evaluate(zoom)
    page.get_by_role("button", name="Zoom in").click()
    page.wait_for_function(f"{zoom} > {fitted} * 1.2")
    page.get_by_role("button", name="Zoom out").click()
    page.get_by_role("button", name="Zoom out").click()
    page.wait_for_function(f"{zoom} < {fitted} * 0.9")
    show(page, 1200)
    page.get_by_role("button", name="Fit width").click()
    page.wait_for_function(
        f"Math.abs({zoom} - {fitted}) < {fitted} * 0.01 && atelierWorkspace.viewer().viewport.getBounds().y < 0.01"
    )
    assert page.locator(".openseadragon-container img[src*='zoomin']").count() == 0


# ------------------------------------------------------------------ never lose work


def test_two_tabs_editing_one_task_get_a_conflict_and_nothing_is_overwritten(
    live_stack, browser, researcher, annotator, team_a
):
    dataset = webtoon_dataset(team_a, researcher, name="Conflicts")
    imported(dataset, researcher, [("page.png", strip_png(800, 2000))])
    task = assigned_task(dataset, researcher, annotator)
    first, second = (browser.new_context(**CONTEXT_ARGS).new_page() for _ in range(2))
    for page in (first, second):
        page.bring_to_front()
        log_in(page, live_stack.url, "annotator", PASSWORD)
        open_workspace(page, f"{live_stack.url}/label/{task.pk}/")

    first.keyboard.press("1")
    drag_box(first, 50, 50, 250, 250)
    wait_saved(first)
    mine = server_doc(task)
    assert mine.version == 1 and len(mine.shapes) == 1

    second.bring_to_front()  # Playwright's waits poll on animation frames, which hidden pages do not get
    second.keyboard.press("2")
    drag_box(second, 400, 300, 600, 500)
    second.wait_for_selector("#conflict-panel:not([hidden])", timeout=15_000)
    assert second.locator("#save-status").get_attribute("data-state") == "conflict"
    assert second.locator("#conflict-server li").count() == 1
    assert "panel" in second.locator("#conflict-server").inner_text()
    assert "speech_bubble" in second.locator("#conflict-mine").inner_text()
    second.wait_for_timeout(1500)  # no retry sneaks through while the conflict is open
    after = server_doc(task)
    assert (after.version, after.shapes) == (1, mine.shapes)

    # Keeping mine is a deliberate save on top of the server's version.
    second.get_by_role("button", name="Keep mine").click()
    wait_saved(second)
    kept = server_doc(task)
    assert kept.version == 2 and [s["class"] for s in kept.shapes] == ["speech_bubble"]

    # The first tab is now stale too; it reloads the server's version instead.
    first.bring_to_front()
    first.keyboard.press("3")
    drag_box(first, 300, 50, 450, 200)
    first.wait_for_selector("#conflict-panel:not([hidden])", timeout=15_000)
    first.get_by_role("button", name="Reload the server's version").click()
    assert first.locator("#shape-list li").count() == 1
    assert "speech_bubble" in first.locator("#shape-list").inner_text()
    assert server_doc(task).version == 2


def test_a_save_after_the_session_expired_is_kept_and_sent_after_logging_in(
    live_stack, page, researcher, annotator, team_a
):
    dataset = webtoon_dataset(team_a, researcher, name="Expiry")
    imported(dataset, researcher, [("page.png", strip_png(800, 2000))])
    task = assigned_task(dataset, researcher, annotator)
    log_in(page, live_stack.url, "annotator", PASSWORD)
    open_workspace(page, f"{live_stack.url}/label/{task.pk}/")
    page.keyboard.press("1")
    drag_box(page, 50, 50, 250, 250)
    wait_saved(page)

    Session.objects.all().delete()  # the session expires on the server
    page.keyboard.press("2")
    drag_box(page, 300, 300, 500, 500)
    page.wait_for_function("document.getElementById('save-status').dataset.state === 'offline'", timeout=15_000)
    assert "log in again" in page.locator("#save-status").inner_text().lower()
    kept = page.evaluate(f"localStorage.getItem('atelier:annotation:{annotator.pk}:{task.pk}')")
    assert kept and "speech_bubble" in kept
    assert server_doc(task).version == 1

    page.locator("#login-again").click()
    page.get_by_label("Username").fill("annotator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(rf"/label/{task.pk}/$"))
    page.wait_for_selector("#workspace[data-state=ready]")
    wait_saved(page)
    saved = server_doc(task)
    assert saved.version == 2 and sorted(s["class"] for s in saved.shapes) == ["panel", "speech_bubble"]
    left = page.evaluate(f"JSON.parse(localStorage.getItem('atelier:annotation:{annotator.pk}:{task.pk}'))")
    assert left["doc"] is None and left["base"] == 2  # nothing unsent: only the version this tab saw


# ------------------------------------------------------------------ user text is text


XSS = '"><img id=xss-{n} src=x onerror=alert({n})><script id=xss-s{n}>alert({n})</script>'


def test_user_text_shows_as_literal_text_and_runs_nothing(live_stack, browser, researcher, annotator, reviewer, team_a):
    payloads = {n: XSS.format(n=n) for n in range(1, 7)}
    schema = {
        "classes": [
            {
                "name": payloads[1][:64],
                "hotkey": "1",
                "shapes": ["box"],
                "attributes": [
                    {"name": "transcription", "type": "text"},
                    {"name": "who", "type": "character"},
                    {"name": "tags", "type": "tags"},
                ],
            },
        ],
        "relations": [],
    }
    dataset = webtoon_dataset(team_a, researcher, name=payloads[2][:60], characters=[payloads[3][:60]], schema=schema)
    (item,) = imported(dataset, researcher, [("page.png", strip_png(800, 1200))])
    Item.objects.filter(pk=item.pk).update(name=payloads[4])  # a file name as ingestion would keep it
    task = assigned_task(dataset, researcher, annotator)
    class_name = payloads[1][:64]

    context = browser.new_context(**CONTEXT_ARGS)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, live_stack.url, "annotator", PASSWORD)
    open_workspace(page, f"{live_stack.url}/label/{task.pk}/")
    page.keyboard.press("1")
    drag_box(page, 50, 50, 250, 250)
    page.locator("#attr-transcription").fill(payloads[5])
    page.locator("#attr-who").fill(payloads[3][:60])
    page.locator("#attr-who").press("Tab")
    page.locator("#attr-tags").fill(payloads[6][:60])
    wait_saved(page)
    page.get_by_role("button", name="Submit").click()
    page.wait_for_function("document.getElementById('workspace').dataset.taskStatus === 'submitted'")

    review_context = browser.new_context(**CONTEXT_ARGS)
    review_page = review_context.new_page()
    review_page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(review_page, live_stack.url, "reviewer", PASSWORD)
    review_page.goto(f"{live_stack.url}/label/")
    review_page.wait_for_selector("#review-task-rows tr")
    assert payloads[4] in review_page.locator("#review-task-rows").inner_text()
    open_workspace(review_page, f"{live_stack.url}/review/{task.pk}/")
    review_page.locator("#shape-list li button").first.click()
    review_page.locator("#review-comment").fill(payloads[2])
    review_page.locator("#review-pin").check()
    review_page.get_by_role("button", name="Reject").click()
    review_page.wait_for_function("document.getElementById('workspace').dataset.taskStatus === 'rejected'")

    page.bring_to_front()
    open_workspace(page, f"{live_stack.url}/label/{task.pk}/")
    page.locator("#shape-list li button").first.click()
    page.goto(f"{live_stack.url}/label/")
    page.wait_for_selector("#my-task-rows tr")
    queue_text = page.locator("#my-tasks").inner_text()
    assert payloads[4] in queue_text and payloads[2][:60] in queue_text
    open_workspace(page, f"{live_stack.url}/label/{task.pk}/")
    page.locator("#shape-list li button").first.click()

    for where in (page, review_page):
        injected = where.evaluate("""() => Array.from(document.querySelectorAll('[id^="xss-"], img[src="x"], [onerror]'))
                                      .map(e => e.outerHTML)""")
        assert injected == []
    assert page.locator("#ws-title").inner_text() == f"{payloads[2][:60]} / {payloads[4]}"
    assert class_name in page.locator("#shape-list").inner_text()
    assert page.locator("#review-banner-comment").inner_text() == payloads[2]
    assert page.locator("#attr-transcription").input_value() == payloads[5]
    assert page.locator("#attr-who").input_value() == payloads[3][:60]
    assert page.locator("#attr-tags").input_value() == payloads[6][:60].strip()
    assert review_page.locator("#shape-list").inner_text().count(payloads[5][:20]) == 1
    assert dialogs == []
