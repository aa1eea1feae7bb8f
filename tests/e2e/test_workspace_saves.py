"""Autosave never fights its author (issue 19 item 3), and the workspace measures focused time (item 4b).

A save is held in flight with page.route, then the page reloads: whether the held save never reaches
the server, reaches it while the page reloads, or the page-hide save lands as the next version, the
reloaded page recognises its own save by its save id — no conflict panel, no lost shape. Someone else's
save in between is still a conflict.
"""

import pytest

from labeling.models import Task
from tests.e2e.conftest import CONTEXT_ARGS, log_in
from tests.e2e.test_annotation import (
    assigned_task,
    drag_box,
    imported,
    open_workspace,
    server_doc,
    strip_png,
    wait_saved,
    webtoon_dataset,
)
from tests.factories import PASSWORD

pytestmark = [pytest.mark.stack, pytest.mark.e2e]

ANNOTATION_URL = "**/api/v1/tasks/*/annotation/"
ROUNDS = 3


@pytest.fixture
def workspace(live_stack, browser, researcher, annotator, team_a):
    dataset = webtoon_dataset(team_a, researcher, name="Saves")
    imported(dataset, researcher, [("page.png", strip_png(800, 3000))])
    task = assigned_task(dataset, researcher, annotator)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, **CONTEXT_ARGS)
    page = context.new_page()
    page.dialogs, page.errors = [], []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    log_in(page, live_stack.url, "annotator", PASSWORD)
    page.task_url = f"{live_stack.url}/label/{task.pk}/"
    open_workspace(page, page.task_url)
    yield page, task
    context.close()


class Held(list):
    """The document's PUTs held (never answered) while `holding`; reads and later saves go through."""

    holding = True


def hold_saves(page) -> Held:
    held = Held()

    def handle(route):
        if route.request.method == "PUT" and held.holding:
            held.append(route)
        else:
            route.continue_()

    page.route(ANNOTATION_URL, handle)
    return held


def reload_releasing(page, held: Held, task, shapes: int) -> None:
    held.holding = False  # the reloaded page's saves go through; the held one stays held
    reload_and_check_nothing_fought(page, task, shapes)
    page.unroute(ANNOTATION_URL)


def wait_until(page, predicate, timeout_ms=10_000) -> None:
    for _ in range(timeout_ms // 50):
        if predicate():
            return
        page.wait_for_timeout(50)
    raise AssertionError("timed out")


def draw_two_boxes_the_second_while_the_first_save_is_held(page, held, row: int) -> None:
    y = 40 + row * 170
    page.keyboard.press("1")
    drag_box(page, 50, y, 250, y + 120)
    wait_until(page, lambda: len(held) == 1)
    page.keyboard.press("2")
    drag_box(page, 400, y, 600, y + 120)
    page.wait_for_timeout(1000)  # past the autosave delay: the second change waits behind the held save
    assert len(held) == 1


def reload_and_check_nothing_fought(page, task, shapes: int) -> None:
    open_workspace(page, page.task_url)
    try:
        wait_saved(page)
    except Exception:
        raise AssertionError(
            page.evaluate("""() => [document.getElementById('save-status').innerText,
            document.getElementById('ws-message').innerText, JSON.stringify(localStorage),
            atelierWorkspace.state.version, atelierWorkspace.state.sentIds]""")
        ) from None
    assert page.locator("#conflict-panel").is_hidden()
    assert page.locator("#save-status").get_attribute("data-state") == "saved"
    assert page.locator("#shape-list li").count() == shapes
    assert len(server_doc(task).shapes) == shapes
    unsent = page.evaluate(
        "Object.keys(localStorage).filter(k => k.startsWith('atelier:annotation:') && JSON.parse(localStorage[k]).doc)"
    )
    assert unsent == []  # only the note of the version this tab saw is left
    assert page.dialogs == [] and page.errors == []


def test_a_reload_while_a_save_is_held_and_never_arrives_resends_the_local_copy(workspace):
    # The reload cancels the held request in the browser: it never reaches the server.
    page, task = workspace
    for row in range(ROUNDS):
        held = hold_saves(page)
        draw_two_boxes_the_second_while_the_first_save_is_held(page, held, row)
        reload_releasing(page, held, task, shapes=2 * (row + 1))


def test_a_reload_while_a_held_save_lands_takes_it_as_its_own(workspace):
    page, task = workspace
    for row in range(ROUNDS):
        held = hold_saves(page)
        draw_two_boxes_the_second_while_the_first_save_is_held(page, held, row)
        version = server_doc(task).version
        # The held request reaches the server as sent (its cookies, CSRF token and save id); the page
        # never hears the answer.
        landed = page.request.fetch(held[0].request)
        assert landed.status == 200 and server_doc(task).version == version + 1
        reload_releasing(page, held, task, shapes=2 * (row + 1))
        assert server_doc(task).version == version + 2  # the second box, sent on top of its own save


def test_a_reload_right_after_a_save_lands_and_the_page_hide_save_never_conflict(workspace):
    page, task = workspace
    for row in range(ROUNDS):
        y = 40 + row * 170
        page.keyboard.press("1")
        drag_box(page, 50, y, 250, y + 120)
        wait_saved(page)
        reload_and_check_nothing_fought(page, task, shapes=2 * row + 1)
        # A change and at once a reload: the page-hide (keepalive) save lands as the next version,
        # before or after the reloaded page read the document.
        page.keyboard.press("2")
        drag_box(page, 400, y, 600, y + 120)
        reload_and_check_nothing_fought(page, task, shapes=2 * row + 2)


def test_someone_elses_save_while_mine_was_held_is_still_a_conflict(workspace, browser, live_stack):
    page, task = workspace
    held = hold_saves(page)
    page.keyboard.press("1")
    drag_box(page, 50, 60, 250, 260)
    wait_until(page, lambda: len(held) == 1)

    other = browser.new_context(**CONTEXT_ARGS).new_page()
    log_in(other, live_stack.url, "annotator", PASSWORD)  # the same task open elsewhere: a different editor
    open_workspace(other, page.task_url)
    other.keyboard.press("3")
    drag_box(other, 300, 400, 500, 600)
    wait_saved(other)

    page.bring_to_front()
    held.holding = False
    open_workspace(page, page.task_url)
    page.wait_for_selector("#conflict-panel:not([hidden])")
    assert "character" in page.locator("#conflict-server").inner_text()
    assert "panel" in page.locator("#conflict-mine").inner_text()
    assert [s["class"] for s in server_doc(task).shapes] == ["character"]


def test_focused_time_counts_while_working_and_not_while_idle(workspace):
    page, task = workspace
    page.clock.install()
    open_workspace(page, page.task_url)
    for step in range(8):  # about four seconds of pointer work
        page.mouse.move(300 + step * 10, 300)
        page.wait_for_timeout(500)
    worked = int(page.locator("#workspace").get_attribute("data-focused-ms"))
    assert 2_000 <= worked <= 6_000

    # Seventy seconds without an input: idle, not counted (and the jump is not counted either).
    page.clock.fast_forward("01:10")
    page.wait_for_timeout(1500)
    idle = int(page.locator("#workspace").get_attribute("data-focused-ms"))
    assert idle - worked <= 2_000

    # A save carries the time; the task's API shows it.
    page.keyboard.press("1")
    drag_box(page, 50, 60, 250, 260)
    wait_saved(page)
    task.refresh_from_db()
    assert 2 <= task.focused_seconds <= 9
    assert Task.objects.get(pk=task.pk).focused_seconds == task.focused_seconds
