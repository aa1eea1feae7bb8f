"""/reports/quotas/ and GET /api/v1/reports/quotas/: per team and user, reserved / used / idle
GPU-hours against the monthly quota; sortable; CSV of the same numbers."""

import csv
import io
from datetime import UTC, datetime

import pytest

from scheduler.selectors.placement import GpuRequest
from scheduler.services.bookings import booking_create
from tests.actors import api_client_for
from tests.scheduler.factories import fleet, quota_set

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture
def november(researcher, team_admin, outsider, team_a, team_b):
    gpus = fleet(nodes=1, per_node=4)
    quota_set(team_a, gpu_hours_per_month=100)

    def book(user, gpu_slice, start, end):
        booking_create(
            user=user, start=start, end=end, request=GpuRequest(gpu_ids=tuple(g.pk for g in gpus[gpu_slice])), now=NOW
        )

    book(researcher, slice(0, 2), datetime(2026, 11, 10, 9, tzinfo=UTC), datetime(2026, 11, 10, 19, tzinfo=UTC))  # 20 h
    book(
        team_admin, slice(2, 3), datetime(2026, 11, 30, 20, tzinfo=UTC), datetime(2026, 12, 1, 6, tzinfo=UTC)
    )  # 4 h in Nov
    book(outsider, slice(3, 4), datetime(2026, 11, 11, tzinfo=UTC), datetime(2026, 11, 11, 4, tzinfo=UTC))  # 4 h
    return gpus


def rows_of(user, query="?month=2026-11"):
    body = api_client_for(user).get(f"/api/v1/reports/quotas/{query}").json()
    return [
        (
            r["team"],
            r["user"],
            r["reserved_gpu_hours"],
            r["used_gpu_hours"],
            r["idle_gpu_hours"],
            r["quota_gpu_hours"],
            r["percent_used"],
        )
        for r in body["rows"]
    ]


def test_site_admins_see_every_team_and_user(november, admin):
    assert rows_of(admin) == [
        ("Team A", None, 24.0, 0.0, 0.0, 100.0, 24.0),
        ("Team A", "lead", 4.0, 0.0, 0.0, 100.0, 4.0),
        ("Team A", "researcher", 20.0, 0.0, 0.0, 100.0, 20.0),
        ("Team B", None, 4.0, 0.0, 0.0, 2000.0, 0.2),
        ("Team B", "outsider", 4.0, 0.0, 0.0, 2000.0, 0.2),
    ]


def test_team_admins_see_their_team_and_months_are_separate(november, team_admin):
    assert [r[:3] for r in rows_of(team_admin, "?month=2026-12")] == [("Team A", None, 6.0), ("Team A", "lead", 6.0)]


def test_it_sorts_by_any_column(november, admin):
    assert [r[2] for r in rows_of(admin, "?month=2026-11&sort=reserved&order=desc")] == [24.0, 20.0, 4.0, 4.0, 4.0]


def test_a_bad_month_is_a_400_naming_it(november, admin):
    response = api_client_for(admin).get("/api/v1/reports/quotas/?month=November")
    assert (response.status_code, list(response.json()["errors"])) == (400, ["month"])


def test_the_page_and_its_csv_show_the_same_numbers(november, client, admin):
    client.force_login(admin)
    page = client.get("/reports/quotas/?month=2026-11&sort=team").content.decode()
    assert "Quota report" in page and "researcher" in page
    response = client.get("/reports/quotas/?month=2026-11&format=csv")
    assert response["Content-Disposition"] == 'attachment; filename="quotas-2026-11.csv"'
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert table[0] == [
        "month",
        "team",
        "user",
        "reserved_gpu_hours",
        "used_gpu_hours",
        "idle_gpu_hours",
        "quota_gpu_hours",
        "percent_used",
    ]
    assert table[1:3] == [
        ["2026-11", "Team A", "(team total)", "24.0", "0.0", "0.0", "100.0", "24.0"],
        ["2026-11", "Team A", "lead", "4.0", "0.0", "0.0", "100.0", "4.0"],
    ]


def test_the_page_is_404_for_people_who_administer_no_team(november, client, researcher):
    client.force_login(researcher)
    assert client.get("/reports/quotas/").status_code == 404


def test_idle_reserved_hours_are_only_the_hours_that_have_passed(researcher, team_admin, team_a):
    """The issue's reading: 4 minutes after a booking was found idle, the report counted its whole rest."""
    import time_machine

    from scheduler.models import Booking

    gpus = fleet(nodes=1, per_node=1)
    start = datetime(2026, 11, 10, 9, tzinfo=UTC)
    booking_create(
        user=researcher, start=start, end=start.replace(hour=19), request=GpuRequest(gpu_ids=(gpus[0].pk,)), now=NOW
    )
    booking = Booking.objects.get()
    flagged_at = start.replace(hour=11)
    Booking.objects.filter(pk=booking.pk).update(idle_since=start, idle_flagged_at=flagged_at)
    booking.idle_periods.create(start=start, flagged_at=flagged_at)

    with time_machine.travel(flagged_at.replace(minute=4), tick=False):
        rows = rows_of(team_admin, "?month=2026-11")
    assert rows[0][:5] == ("Team A", None, 10.0, 0.0, 2.07)  # 2 h 4 min idle so far, of 10 h reserved
