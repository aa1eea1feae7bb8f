"""The lead opens the reports, switches range and scope, downloads a CSV whose rows match the table
beside it, and releases an idle booking from the idle report (issue 24)."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from portal.demo import DEMO_PASSWORD, demo_seed
from portal.reports import activity
from scheduler.models import Booking, BookingIdlePeriod
from scheduler.selectors.placement import GpuRequest
from scheduler.services.bookings import booking_create
from tests.e2e.conftest import log_in
from tests.scheduler.factories import fleet

pytestmark = [pytest.mark.stack, pytest.mark.e2e]


def test_the_lead_reads_the_reports_downloads_a_csv_and_releases_an_idle_booking(live_stack, page, page_problems):
    demo_seed()
    Booking.objects.all().delete()
    gpus = fleet(nodes=1, per_node=2, prefix="rp")
    researcher = get_user_model().objects.get(username="researcher")
    now = timezone.now().replace(microsecond=0)
    # Running since 3 h ago for 5 more hours, idle for the last 2 h on 2 GPUs: 4 idle GPU-h so far.
    booking = booking_create(
        user=researcher,
        start=now - timedelta(hours=3),
        end=now + timedelta(hours=5),
        request=GpuRequest(gpu_ids=tuple(g.pk for g in gpus)),
        now=now - timedelta(hours=4),
    )
    BookingIdlePeriod.objects.create(booking=booking, start=now - timedelta(hours=2), flagged_at=now)
    team_id = booking.team_id

    log_in(page, live_stack.url, "lead", DEMO_PASSWORD)
    page.goto(f"{live_stack.url}/reports/")
    page.get_by_role("link", name="GPU time split").click()
    expect(page.locator("#chart-split canvas").first).to_be_visible()  # uPlot drew the stacked chart
    page.get_by_label("Range").select_option("day")
    page.get_by_label("Scope").select_option("team")
    page.get_by_label("Of").fill(str(team_id))
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#report-split tbody tr").last).to_contain_text("total")

    page.get_by_role("link", name="Idle bookings").click()
    table = page.locator("#report-idle")
    expect(table.locator("tbody tr")).to_have_count(1)
    shown = [cell.strip() for cell in table.locator("tbody tr").first.locator("td").all_inner_texts()]
    with page.expect_download() as download:
        page.locator("section", has=table).get_by_role("link", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert rows[0] == ["booking", "team", "user", "start", "end", "idle_gpu_hours"]
    assert len(rows) == 2
    assert rows[1][:3] == shown[:3]
    assert [activity.shown(instant, "time") for instant in rows[1][3:5]] == shown[3:5]  # ISO 8601 in the CSV
    assert float(rows[1][5]) == pytest.approx(float(shown[5]), abs=0.01)
    assert float(rows[1][5]) == pytest.approx(4.0, abs=0.05)

    table.get_by_role("button", name="Release the rest").click()
    expect(page.get_by_text(f"Booking #{booking.pk} released")).to_be_visible()
    booking.refresh_from_db()
    assert booking.end <= timezone.now()
    assert page_problems.console_errors == []
