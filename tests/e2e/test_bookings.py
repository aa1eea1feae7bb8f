"""A researcher books a GPU by dragging on the timeline, sees the team's remaining quota first, and
sees the booking; a second user's overlapping drag is refused with a clear message."""

from datetime import UTC, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from portal.demo import DEMO_PASSWORD, demo_seed
from scheduler.models import Booking, GpuOccupancy
from tests.e2e.conftest import log_in
from tests.scheduler.factories import attempt_row, fleet

pytestmark = [pytest.mark.stack, pytest.mark.e2e]


def open_tomorrow(page, base_url):
    page.set_viewport_size({"width": 1500, "height": 1000})
    page.goto(f"{base_url}/bookings/")
    page.get_by_role("button", name="Next day").click()  # tomorrow: every slot is in the future
    page.wait_for_load_state("networkidle")


def drag(page, *, node: str, gpu_label: str, day: str, from_hour: int, to_hour: int):
    """Drag across one GPU's row over the hour slots [from_hour, to_hour)."""
    heads = page.locator(".ec-body .ec-sidebar .ec-row-head")
    texts = [text.split("\n")[-1].strip() for text in heads.all_inner_texts()]  # node rows start with a "−" toggle
    row = texts.index(gpu_label, texts.index(node))
    box = heads.nth(row).bounding_box()
    y = box["y"] + box["height"] / 2
    first = page.locator(f'.ec-header time[datetime="{day}T{from_hour:02d}:00:00"]').bounding_box()
    last = page.locator(f'.ec-header time[datetime="{day}T{to_hour - 1:02d}:00:00"]').bounding_box()
    # Right to left: the press lands on a free slot even when the window's start is under a booking.
    page.mouse.move(last["x"] + last["width"] - 4, y)
    page.mouse.down()
    page.mouse.move(last["x"] + 10, y, steps=4)
    page.mouse.move(first["x"] + 4, y, steps=8)
    page.mouse.up()


def test_a_researcher_books_by_dragging_and_a_second_overlapping_drag_is_refused(
    live_stack, page, browser, page_problems
):
    demo_seed()
    Booking.objects.all().delete()  # the demo's own bookings: this test starts from an empty timeline
    fleet(nodes=1, per_node=4, prefix="bk")
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()

    log_in(page, live_stack.url, "researcher", DEMO_PASSWORD)
    open_tomorrow(page, live_stack.url)
    drag(page, node="bk-00", gpu_label="gpu1 · A100-80GB", day=tomorrow, from_hour=9, to_hour=13)
    dialog = page.locator("#book-dialog")
    dialog.wait_for(state="visible")
    assert dialog.locator("#book-start").inner_text() == f"{tomorrow} 09:00"
    assert dialog.locator("#book-end").inner_text() == f"{tomorrow} 13:00"
    page.wait_for_function("document.getElementById('book-quota').textContent.includes('GPU-hours left')")
    month = tomorrow[:7]
    assert (
        dialog.locator("#book-quota").inner_text()
        == f"2000.0 of 2000.0 GPU-hours left in {month}; 1996.0 after this booking"
    )
    dialog.locator("#book-note").fill("segmentation sweep")
    dialog.get_by_role("button", name="Confirm booking").click()
    page.get_by_role("status").filter(has_text="Booked").wait_for()
    page.locator(".ec-event", has_text="researcher · Vision").wait_for()
    booking = Booking.objects.get()
    assert (booking.user.username, booking.note, [str(g) for g in booking.gpus.all()]) == (
        "researcher",
        "segmentation sweep",
        ["bk-00/gpu1"],
    )
    assert (booking.end - booking.start) == timedelta(hours=4)

    other = browser.new_page()
    log_in(other, live_stack.url, "storyteller", DEMO_PASSWORD)
    open_tomorrow(other, live_stack.url)
    other.locator(".ec-event", has_text="researcher · Vision").wait_for()
    drag(other, node="bk-00", gpu_label="gpu1 · A100-80GB", day=tomorrow, from_hour=11, to_hour=15)
    other.locator("#book-dialog").get_by_role("button", name="Confirm booking").click()
    error = other.locator("#book-error")
    error.filter(has_text="already held").wait_for()
    assert error.inner_text() == (
        f"The GPUs are already held for part of that window. Held by researcher (Vision) {tomorrow} 09:00–{tomorrow} 13:00."
        f" Next free: {tomorrow} 13:00–{tomorrow} 17:00."
    )
    assert Booking.objects.count() == 1
    assert page_problems.console_errors == []
    assert page_problems.bad_responses == []


def test_the_owner_extends_by_dragging_the_end_and_cancels_by_clicking(live_stack, page, page_problems):
    from datetime import datetime, time

    from scheduler.selectors.placement import GpuRequest
    from scheduler.services.bookings import booking_create

    demo_seed()
    Booking.objects.all().delete()
    gpus = fleet(nodes=1, per_node=2, prefix="bk")
    researcher = get_user_model().objects.get(username="researcher")
    day = (timezone.now() + timedelta(days=1)).date()
    start = datetime.combine(day, time(9), tzinfo=UTC)
    booking = booking_create(
        user=researcher, start=start, end=start + timedelta(hours=3), request=GpuRequest(gpu_ids=(gpus[0].pk,))
    )
    job_attempt = attempt_row(researcher, booking.team)
    GpuOccupancy.objects.create(
        gpu=gpus[1],
        team=booking.team,
        user=researcher,
        kind="job",
        attempt=job_attempt,
        start=start,
        end=start + timedelta(hours=2),
    )

    log_in(page, live_stack.url, "researcher", DEMO_PASSWORD)
    open_tomorrow(page, live_stack.url)
    event = page.locator(".ec-event", has_text="researcher · Vision")
    event.wait_for()
    page.locator(
        ".ec-event", has_text=f"job {job_attempt.job_id} · Vision"
    ).wait_for()  # a job outside bookings, shown in its row
    handle = event.locator(".ec-resizer").last.bounding_box()
    target = page.locator(
        f'.ec-header time[datetime="{day.isoformat()}T13:00:00"]'
    ).bounding_box()  # into the 13:00 slot: ends 14:00
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(handle["x"] + 20, handle["y"] + handle["height"] / 2, steps=4)
    page.mouse.move(target["x"] + target["width"] / 2, handle["y"] + handle["height"] / 2, steps=8)
    page.mouse.up()
    page.get_by_role("status").filter(has_text="now ends").wait_for()
    booking.refresh_from_db()
    assert booking.end == start + timedelta(hours=5)

    event.click()
    page.locator("#cancel-dialog").get_by_role("button", name="Cancel this booking").click()
    page.get_by_role("status").filter(has_text="cancelled").wait_for()
    booking.refresh_from_db()
    assert booking.state == "cancelled"
    expect(page.locator(".ec-event", has_text="researcher · Vision")).to_have_count(
        0
    )  # refetched: cancelled ones are not shown
    assert page_problems.console_errors == [] and page_problems.bad_responses == []


def test_an_open_timeline_shows_another_users_booking_and_its_cancel_without_reload(
    live_stack, page, browser, page_problems
):
    demo_seed()
    Booking.objects.all().delete()
    gpus = fleet(nodes=1, per_node=2, prefix="lv")
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()

    watcher = page  # one browser context: another team's user with the timeline open
    log_in(watcher, live_stack.url, "storyteller", DEMO_PASSWORD)
    open_tomorrow(watcher, live_stack.url)
    watcher.evaluate("window.sameDocument = true")  # gone if the page reloads
    expect(watcher.locator(".ec-event", has_text="researcher · Vision")).to_have_count(0)

    booker = browser.new_context().new_page()  # a second context: the researcher, through the API
    log_in(booker, live_stack.url, "researcher", DEMO_PASSWORD)
    booker.goto(f"{live_stack.url}/bookings/")
    call_api = """async ([method, url, body]) => {
        const csrf = document.querySelector("meta[name=csrf-token]").content;
        const r = await fetch(url, {method, credentials: "same-origin", body: body && JSON.stringify(body),
                                    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf}});
        return [r.status, await r.json()];
    }"""
    body = {
        "gpu_ids": [gpus[0].pk],
        "start_local": f"{tomorrow}T09:00:00",
        "end_local": f"{tomorrow}T12:00:00",
        "note": "secret",
    }
    status, created = booker.evaluate(call_api, ["POST", "/api/v1/bookings/", body])
    assert status == 201, created

    event = watcher.locator(".ec-event", has_text="researcher · Vision")
    event.wait_for(timeout=10_000)  # arrives over the websocket, no reload
    assert "secret" not in event.inner_text()  # another team: the note stays hidden
    status, cancelled = booker.evaluate(call_api, ["DELETE", f"/api/v1/bookings/{created['id']}/", None])
    assert (status, cancelled["state"]) == (200, "cancelled")
    expect(event).to_have_count(0, timeout=10_000)
    assert watcher.evaluate("window.sameDocument") is True
    assert page_problems.console_errors == [] and page_problems.bad_responses == []


def test_book_three_gpus_in_one_go_take_an_alternative_after_a_clash_and_book_now(live_stack, page, page_problems):
    """Issue 20, booking as people book: N GPUs in one booking, a drag over someone else's bar shown
    as a conflict before confirming with a one-click alternative, and a drag over the current hour
    that starts now."""
    import time
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from scheduler.selectors.placement import GpuRequest
    from scheduler.services.bookings import booking_create

    demo_seed()
    Booking.objects.all().delete()
    gpus = fleet(nodes=1, per_node=6, prefix="bk")
    storyteller = get_user_model().objects.get(username="storyteller")
    tomorrow = (timezone.now() + timedelta(days=1)).date()
    theirs = booking_create(
        user=storyteller,
        start=datetime.combine(tomorrow, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9),
        end=datetime.combine(tomorrow, datetime.min.time(), tzinfo=UTC) + timedelta(hours=13),
        request=GpuRequest(gpu_ids=(gpus[0].pk,)),
    )
    log_in(page, live_stack.url, "researcher", DEMO_PASSWORD)
    open_tomorrow(page, live_stack.url)
    page.locator(".ec-event", has_text="storyteller").wait_for()
    dialog = page.locator("#book-dialog")

    # Three GPUs in one booking, from one drag and a count.
    drag(page, node="bk-00", gpu_label="gpu5 · A100-80GB", day=tomorrow.isoformat(), from_hour=14, to_hour=16)
    dialog.locator("#book-count").fill("3")
    assert dialog.locator("#book-gpu").inner_text() == "3 free A100-80GB GPUs (chosen for you)"
    dialog.get_by_role("button", name="Confirm booking").click()
    page.get_by_role("status").filter(has_text="Booked").wait_for()
    three = Booking.objects.exclude(pk=theirs.pk).get()
    assert three.gpus.count() == 3 and three.end - three.start == timedelta(hours=2)

    # A drag over their bar: the clash shows before "Confirm", and a free GPU of the model is one click.
    # (gpu0 is theirs 9-13 and, as best fit picked it, ours from 14: the free 13:00 slot takes the press)
    drag(page, node="bk-00", gpu_label="gpu0 · A100-80GB", day=tomorrow.isoformat(), from_hour=12, to_hour=14)
    expect(dialog.locator("#book-clash")).to_contain_text("storyteller")
    offer = dialog.locator(".take-alternative").first
    offer.wait_for()
    assert "bk-00 / gpu0" not in offer.inner_text()
    offer.click()
    page.get_by_role("status").filter(has_text="12:00").wait_for()
    taken = Booking.objects.exclude(pk__in=[theirs.pk, three.pk]).get()
    assert gpus[0].pk not in set(taken.gpus.values_list("pk", flat=True))
    assert (taken.start.hour, taken.end.hour) == (12, 14)

    # Now: a drag over the current hour starts at this minute, not at the hour's past start.
    zone = ZoneInfo(get_user_model().objects.get(username="researcher").time_zone)
    if timezone.now().astimezone(zone).minute >= 58:
        time.sleep(150)  # the current slot would end before the booking is confirmed
    now = timezone.now().astimezone(zone)
    page.get_by_role("button", name="Today").click()
    page.wait_for_load_state("networkidle")
    drag(
        page,
        node="bk-00",
        gpu_label="gpu4 · A100-80GB",
        day=now.date().isoformat(),
        from_hour=now.hour,
        to_hour=now.hour + 1,
    )
    assert dialog.locator("#book-start").inner_text().endswith("(now)")
    dialog.get_by_role("button", name="Confirm booking").click()
    page.get_by_role("status").filter(has_text=f"from {now:%Y-%m-%d %H:}").wait_for()
    started = Booking.objects.exclude(pk__in=[theirs.pk, three.pk, taken.pk]).get()
    assert abs((started.start - now.replace(second=0, microsecond=0)).total_seconds()) <= 60
    assert page_problems.console_errors == [] and page_problems.bad_responses == []


def test_the_week_view_starts_today_with_a_now_line(live_stack, page, page_problems):
    demo_seed()
    log_in(page, live_stack.url, "researcher", DEMO_PASSWORD)
    page.set_viewport_size({"width": 1500, "height": 1000})
    page.goto(f"{live_stack.url}/bookings/")
    page.get_by_role("button", name="week").click()
    first_day = page.locator(".ec-header time").first.get_attribute("datetime")
    today = page.evaluate(
        "(() => { const d = new Date(), p = (n) => String(n).padStart(2, '0');"
        " return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`; })()"
    )  # the browser's own date, as the timeline's header writes it
    assert first_day.startswith(today)
    assert page.locator(".ec-now-indicator, .ec-now").count() >= 1
    assert page_problems.console_errors == []
