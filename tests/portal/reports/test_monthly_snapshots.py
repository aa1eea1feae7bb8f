"""Monthly snapshots (docs/reports.md "Monthly snapshots"): beat writes each closed month's quota figures
once, catches up missed months, counts occupancy across the month end up to the boundary (in the site
zone, across a DST change), and the quota report reads them for closed months, whatever was pruned."""

from datetime import UTC, date, datetime

import pytest
from django.conf import settings
from django.test import override_settings

from portal.reports.quotas import quota_report
from portal.reports.snapshots.models import IMMUTABLE, SnapshotImmutable, SnapshotMonth, SnapshotRow
from portal.reports.snapshots.services import snapshots_take
from portal.teams.models import Team
from scheduler.models import GpuOccupancy, OccupancyKind
from scheduler.selectors.placement import GpuRequest
from scheduler.services.bookings import booking_create
from scheduler.services.telemetry import telemetry_prune
from tests.scheduler.factories import attempt_row, fleet

pytestmark = pytest.mark.django_db

MARCH, APRIL = date(2026, 3, 1), date(2026, 4, 1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def job_hours(user, team, gpu, start, end, *, owner=None) -> GpuOccupancy:
    """A job running outside any booking holds its GPU for [start, end)."""
    attempt = attempt_row(owner or user, team)
    return GpuOccupancy.objects.create(
        gpu=gpu, team=team, user=user, kind=OccupancyKind.JOB, start=start, end=end, attempt=attempt
    )


def figures(month: date) -> dict:
    return {
        (r.team_id, r.username, r.is_team_total): (r.reserved_gpu_hours, r.used_gpu_hours, r.idle_gpu_hours)
        for r in SnapshotRow.objects.filter(snapshot__month=month)
    }


def report(month: date) -> list[dict]:
    return [r.as_dict() for r in quota_report(teams=Team.objects.all(), month=month)]


@pytest.fixture
def gpus(db):
    return fleet(nodes=1, per_node=2)


def test_it_takes_a_closed_month_once(researcher, team_a, team_b, gpus):
    job_hours(researcher, team_a, gpus[0], utc(2026, 3, 10, 8), utc(2026, 3, 10, 18))

    assert snapshots_take(now=utc(2026, 4, 2)) == [MARCH]
    first = figures(MARCH)
    assert snapshots_take(now=utc(2026, 4, 2, 1)) == []
    assert snapshots_take(now=utc(2026, 4, 20)) == []

    assert (
        figures(MARCH)
        == first
        == {
            (team_a.pk, "", True): (0.0, 10.0, 0.0),
            (team_a.pk, "researcher", False): (0.0, 10.0, 0.0),
            (team_b.pk, "", True): (0.0, 0.0, 0.0),
        }
    )
    assert SnapshotMonth.objects.count() == 1


def test_the_current_month_is_not_taken(researcher, team_a, gpus):
    job_hours(researcher, team_a, gpus[0], utc(2026, 3, 10, 8), utc(2026, 3, 10, 18))

    assert snapshots_take(now=utc(2026, 3, 31, 23)) == []
    assert not SnapshotMonth.objects.exists()


def test_it_catches_up_the_months_missed_while_beat_was_down(researcher, team_a, gpus):
    job_hours(researcher, team_a, gpus[0], utc(2026, 1, 5, 0), utc(2026, 1, 5, 2))
    job_hours(researcher, team_a, gpus[0], utc(2026, 3, 5, 0), utc(2026, 3, 5, 3))

    taken = snapshots_take(now=utc(2026, 5, 2))

    assert taken == [date(2026, 1, 1), date(2026, 2, 1), MARCH, APRIL]
    used = {m: figures(m)[(team_a.pk, "", True)][1] for m in taken}
    assert used == {date(2026, 1, 1): 2.0, date(2026, 2, 1): 0.0, MARCH: 3.0, APRIL: 0.0}


@override_settings(TIME_ZONE="Europe/Berlin")
def test_a_job_across_the_month_end_counts_up_to_the_boundary_in_the_site_zone(researcher, team_a, gpus):
    # Berlin moved to summer time on 29 March 2026: March ends at 2026-04-01 00:00 CEST = 31 March 22:00 UTC,
    # and the month is 743 h long. The job runs 20:00 → 02:00 UTC: 2 h in March, 4 h in April.
    job_hours(researcher, team_a, gpus[0], utc(2026, 3, 31, 20), utc(2026, 4, 1, 2))
    job_hours(researcher, team_a, gpus[1], utc(2026, 2, 28, 22), utc(2026, 3, 1, 1))  # 1 h in Feb, 2 h in March

    assert snapshots_take(now=utc(2026, 5, 1, 12)) == [date(2026, 2, 1), MARCH, APRIL]

    march = SnapshotMonth.objects.get(month=MARCH)
    assert (march.start, march.end, march.time_zone) == (utc(2026, 2, 28, 23), utc(2026, 3, 31, 22), "Europe/Berlin")
    assert (march.end - march.start).total_seconds() / 3600 == 743
    assert figures(date(2026, 2, 1))[(team_a.pk, "", True)][1] == 1.0
    assert figures(MARCH)[(team_a.pk, "", True)][1] == 4.0
    assert figures(APRIL)[(team_a.pk, "", True)][1] == 4.0


def test_a_snapshot_reads_the_same_after_the_rows_under_it_are_pruned(researcher, team_a, gpus, settings):
    job_hours(researcher, team_a, gpus[0], utc(2026, 3, 10, 8), utc(2026, 3, 10, 18))
    job_hours(None, team_a, gpus[1], utc(2026, 3, 11, 8), utc(2026, 3, 11, 9), owner=researcher)  # no user on the row
    booking_create(
        user=researcher,
        start=utc(2026, 3, 20, 9),
        end=utc(2026, 3, 20, 12),
        request=GpuRequest(gpu_ids=(gpus[0].pk, gpus[1].pk)),
        now=utc(2026, 3, 1),
    )
    live = report(MARCH)
    snapshots_take(now=utc(2026, 4, 2))

    settings.TELEMETRY_RAW_RETENTION_HOURS = settings.TELEMETRY_MINUTE_RETENTION_HOURS = 1.0
    settings.TELEMETRY_HOUR_RETENTION_HOURS = 1.0
    telemetry_prune(now=utc(2026, 4, 3))  # the project's pruning task
    GpuOccupancy.objects.all().delete()  # and the occupancy under the month, as a longer retention would

    assert report(MARCH) == live
    assert [r["user"] for r in live] == [None, "(jobs)", "researcher"]
    assert (live[0]["used_gpu_hours"], live[0]["reserved_gpu_hours"]) == (11.0, 6.0)


def test_the_current_month_reads_live_data(researcher, team_a, gpus):
    job_hours(researcher, team_a, gpus[0], utc(2026, 3, 10, 8), utc(2026, 3, 10, 18))
    snapshots_take(now=utc(2026, 4, 2))
    job_hours(researcher, team_a, gpus[0], utc(2026, 4, 10, 8), utc(2026, 4, 10, 9))

    assert report(APRIL)[0]["used_gpu_hours"] == 1.0


def test_snapshots_are_immutable(researcher, team_a, gpus):
    job_hours(researcher, team_a, gpus[0], utc(2026, 3, 10, 8), utc(2026, 3, 10, 18))
    snapshots_take(now=utc(2026, 4, 2))
    row, month = SnapshotRow.objects.first(), SnapshotMonth.objects.get()
    before = figures(MARCH)

    row.used_gpu_hours = 0
    for refused in (row.save, row.delete, month.delete):
        with pytest.raises(SnapshotImmutable) as exc:
            refused()
        assert str(exc.value) == IMMUTABLE
    with pytest.raises(SnapshotImmutable):
        SnapshotRow.objects.update(used_gpu_hours=0)
    with pytest.raises(SnapshotImmutable):
        SnapshotMonth.objects.all().delete()
    assert figures(MARCH) == before


def test_beat_takes_snapshots_every_hour():
    assert settings.CELERY_BEAT_SCHEDULE["reports-monthly-snapshots"] == {
        "task": "reports.snapshots_take",
        "schedule": 3600.0,
    }
