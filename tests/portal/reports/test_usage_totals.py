"""Beat's hourly usage totals (issue 24): the reports read the same figures from them as from the
occupancy rows, for every scope, and only hours that have settled are rolled, once.

Berlin is the site zone (October 2026 holds the autumn change), so daily buckets are 23, 24 and 25
hours long and still fall on whole UTC hours.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import OperationalError, connection, connections

from scheduler.models import BookingIdleHour, BookingIdlePeriod, GpuOccupancy, UsageDimension, UsageHour
from scheduler.selectors.usage_totals import rolled_until
from scheduler.services.usage_totals import settle_time, usage_hours_roll
from tests.actors import api_client_for
from tests.portal.reports.test_activity_reports import berlin, utc  # noqa: F401 (berlin: a fixture)
from tests.scheduler.factories import attempt_row, booking, fleet, quota_set

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("berlin")]

NOW = datetime(2026, 11, 20, 15, 17, tzinfo=UTC)


@pytest.fixture
def usage(researcher, team_admin, outsider, team_a, team_b):
    """Two nodes of 4 GPUs (node-00 A100, node-01 H100); bookings with idle stretches (one across both
    nodes), jobs outside bookings, minutes that do not fall on hours, the autumn change, today."""
    quota_set(team_a, gpu_hours_per_month=500, max_concurrent_gpus=8)
    quota_set(team_b, gpu_hours_per_month=500, max_concurrent_gpus=8)
    a100 = fleet(nodes=1, per_node=4, model="A100")
    h100 = fleet(nodes=1, per_node=4, model="H100", prefix="other")
    with time_machine.travel(utc(2026, 10, 20), tick=False):
        across = booking(
            user=researcher, gpus=a100[:2] + h100[:1], start=utc(2026, 10, 24, 20, 15), end=utc(2026, 10, 25, 8)
        )
        mine = booking(user=team_admin, gpus=a100[2:3], start=utc(2026, 10, 30, 22, 40), end=utc(2026, 11, 2, 3, 5))
    with time_machine.travel(utc(2026, 11, 1), tick=False):
        today = booking(user=outsider, gpus=h100[1:3], start=utc(2026, 11, 20, 9), end=utc(2026, 11, 20, 18))
    BookingIdlePeriod.objects.create(booking=across, start=utc(2026, 10, 25, 0, 30), end=utc(2026, 10, 25, 3),
                                     flagged_at=utc(2026, 10, 25, 1))  # fmt: skip
    BookingIdlePeriod.objects.create(booking=mine, start=utc(2026, 11, 1, 12, 10), end=utc(2026, 11, 1, 20),
                                     flagged_at=utc(2026, 11, 1, 14))  # fmt: skip
    BookingIdlePeriod.objects.create(booking=today, start=utc(2026, 11, 20, 11), flagged_at=utc(2026, 11, 20, 13))
    for user, team, gpu, start, end in (
        (researcher, team_a, a100[3], utc(2026, 10, 31, 21, 50), utc(2026, 11, 1, 2, 20)),
        (outsider, team_b, h100[3], utc(2026, 11, 19, 23, 30), utc(2026, 11, 20, 14, 45)),
        (team_admin, team_a, h100[0], utc(2026, 11, 5, 6), utc(2026, 11, 5, 9, 30)),
    ):
        attempt = attempt_row(user, team, node=gpu.node)
        GpuOccupancy.objects.create(gpu=gpu, team=team, user=user, kind="job", attempt=attempt, start=start, end=end)
    return {"a100_node": a100[0].node_id, "h100_node": h100[0].node_id}


def report(user, name, query):
    with time_machine.travel(NOW, tick=False):
        response = api_client_for(user).get(f"/api/v1/reports/{name}/{query}")
    assert response.status_code == 200, response.content
    return response.json()["rows"]


def queries(usage, researcher, team_a):
    ranges = ("?range=month&month=2026-10", "?range=month&month=2026-11", "?range=day&date=2026-10-25",
              "?range=day&date=2026-11-20", "?range=custom&start=2026-10-20&end=2026-11-20")  # fmt: skip
    scopes = ("", f"&scope=node&of={usage['a100_node']}", f"&scope=node&of={usage['h100_node']}",
              "&scope=gpu_model&of=H100", f"&scope=team&of={team_a.pk}", f"&scope=user&of={researcher.pk}")  # fmt: skip
    return [r + s for r in ranges for s in scopes]


def all_reports(readers, queries):
    found = {
        (reader.username, name, query): report(reader, name, query)
        for reader in readers
        for name in ("split", "burn", "burn-daily", "idle", "idle-owners")
        for query in queries
    }
    for reader in readers:  # the quota report and the booking dialog's summary: one month each
        for month in ("2026-10", "2026-11"):
            found[(reader.username, "quotas", month)] = report(reader, "quotas", f"?month={month}")
    return found


def test_the_reports_read_the_same_figures_from_the_totals_as_from_the_rows(
    usage, admin, team_admin, researcher, team_a
):
    asked = queries(usage, researcher, team_a)
    live = all_reports([admin, team_admin], asked)
    assert usage_hours_roll(now=NOW, max_hours=24 * 60) > 0
    assert rolled_until() == utc(2026, 11, 20, 12)  # 15:17 less the settling time, to the hour
    # The rolled past no longer comes from the rows: removing them does not change a figure.
    GpuOccupancy.objects.filter(end__lte=utc(2026, 11, 20, 12)).delete()
    BookingIdlePeriod.objects.filter(end__lte=utc(2026, 11, 20, 12)).delete()
    assert all_reports([admin, team_admin], asked) == live


def test_a_node_counts_the_idle_hours_of_a_booking_on_its_own_gpus_only(usage, admin):
    """A booking of 2 GPUs on node-00 and 1 on other-00 idle 00:30–03:00 UTC: 5 idle GPU-h on the
    first node, 2.5 on the second (before, each node was given all 7.5)."""
    for node, idle in ((usage["a100_node"], 5.0), (usage["h100_node"], 2.5)):
        assert (
            report(admin, "split", f"?range=day&date=2026-10-25&scope=node&of={node}")[-1]["booked_idle_gpu_hours"]
            == idle
        )
        usage_hours_roll(now=NOW, max_hours=24 * 60)
        assert (
            report(admin, "split", f"?range=day&date=2026-10-25&scope=node&of={node}")[-1]["booked_idle_gpu_hours"]
            == idle
        )
    idle_rows = report(admin, "idle", f"?range=month&month=2026-10&scope=node&of={usage['h100_node']}")
    assert [row["idle_gpu_hours"] for row in idle_rows] == [2.5]


def test_only_settled_hours_are_rolled_and_a_backlog_catches_up_in_bounded_runs(usage):
    assert rolled_until() is None
    first = usage_hours_roll(now=NOW, max_hours=100)
    assert first == 100 and rolled_until() == utc(2026, 10, 24, 20) + timedelta(hours=100)
    while usage_hours_roll(now=NOW, max_hours=100):
        pass
    assert rolled_until() == (NOW - settle_time()).replace(minute=0)
    hours = UsageHour.objects.filter(dimension=UsageDimension.SITE).count()
    assert hours == (rolled_until() - utc(2026, 10, 24, 20)) / timedelta(hours=1)  # one site row per hour, empty or not
    assert usage_hours_roll(now=NOW) == 0  # nothing new has settled
    assert usage_hours_roll(now=NOW + timedelta(hours=1)) == 1


def test_rolling_an_hour_again_replaces_its_rows(usage):
    usage_hours_roll(now=NOW, max_hours=24 * 60)
    before = sorted(
        UsageHour.objects.values_list(
            "dimension", "key", "team_id", "hour", "job_seconds", "booked_seconds", "idle_seconds"
        )
    )
    last = UsageHour.objects.filter(dimension=UsageDimension.SITE).latest("hour")
    last.delete()  # the watermark steps back one hour: the next run rolls it again
    assert usage_hours_roll(now=NOW) == 1
    after = sorted(
        UsageHour.objects.values_list(
            "dimension", "key", "team_id", "hour", "job_seconds", "booked_seconds", "idle_seconds"
        )
    )
    assert after == before


def test_a_user_row_per_team_and_exact_seconds(usage, researcher, team_a):
    usage_hours_roll(now=NOW, max_hours=24 * 60)
    # researcher's job 21:50–02:20 UTC: 10 min in the 21:00 hour, whole 22:00–01:00 hours, 20 min at 02:00.
    mine = dict(
        UsageHour.objects.filter(
            dimension=UsageDimension.USER, key=str(researcher.pk), team_id=team_a.pk, job_seconds__gt=0
        ).values_list("hour", "job_seconds")
    )
    assert mine == {
        utc(2026, 10, 31, 21): 600.0,
        utc(2026, 10, 31, 22): 3600.0,
        utc(2026, 10, 31, 23): 3600.0,
        utc(2026, 11, 1, 0): 3600.0,
        utc(2026, 11, 1, 1): 3600.0,
        utc(2026, 11, 1, 2): 1200.0,
    }


def _both_tables() -> tuple[list, list]:
    usage = UsageHour.objects.values_list("dimension", "key", "team_id", "hour", "job_seconds", "idle_seconds")
    idle = BookingIdleHour.objects.values_list("booking_id", "node_id", "gpu_model", "hour", "idle_seconds")
    return sorted(usage), sorted(idle)


def test_the_database_lost_mid_roll_leaves_both_tables_as_they_were(usage, monkeypatch):
    usage_hours_roll(now=NOW, max_hours=24 * 60)
    rolled = _both_tables()
    assert rolled[1], "the fixture's bookings were idle in rolled hours"
    UsageHour.objects.filter(hour__gte=utc(2026, 11, 1)).delete()  # the watermark steps back to 1 November
    BookingIdleHour.objects.filter(hour__gte=utc(2026, 11, 1)).delete()
    stepped_back = _both_tables()

    def connection_lost(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patched:  # the usage rows are written, the per-booking rows are not
        patched.setattr(BookingIdleHour.objects, "bulk_create", connection_lost)
        with pytest.raises(OperationalError):
            usage_hours_roll(now=NOW)
    assert _both_tables() == stepped_back  # neither table holds half a roll
    usage_hours_roll(now=NOW)
    assert _both_tables() == rolled


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite lets one writer at a time: the second roll's delete waits for the first to commit, then "
    "replaces the same rows (test_rolling_an_hour_again_replaces_its_rows)",
)
def test_two_rolls_at_once_write_each_hour_once(usage, monkeypatch):
    usage_hours_roll(now=NOW, max_hours=24 * 60)
    rolled = _both_tables()
    UsageHour.objects.all().delete()
    BookingIdleHour.objects.all().delete()
    both_deleted, met = threading.Barrier(2, timeout=30), threading.Event()
    insert = UsageHour.objects.bulk_create

    def insert_once_both_deleted(*args, **kwargs):  # neither run's first delete sees the other's rows
        if not met.is_set():
            both_deleted.wait()
            met.set()
        return insert(*args, **kwargs)

    def roll() -> int:
        try:
            return usage_hours_roll(now=NOW, max_hours=24 * 60)
        finally:
            connections.close_all()

    monkeypatch.setattr(UsageHour.objects, "bulk_create", insert_once_both_deleted)
    with ThreadPoolExecutor(max_workers=2) as pool:
        hours = sorted(run.result(timeout=60) for run in [pool.submit(roll), pool.submit(roll)])
    assert hours[0] == 0 and hours[1] > 0  # the second found the hours written and stopped
    assert _both_tables() == rolled
