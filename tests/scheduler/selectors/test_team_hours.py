"""GPU-hours a team holds inside a month: each window clipped to the month, summed by the database."""

from datetime import UTC, datetime

import pytest

from scheduler.models import GpuOccupancy, OccupancyKind
from scheduler.selectors.quotas import team_hours_in
from tests.factories import UserFactory
from tests.scheduler.factories import attempt_row, fleet

pytestmark = pytest.mark.django_db

LO, HI = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)


def hold(gpu, team, start, end) -> None:
    attempt = attempt_row(UserFactory(), team)
    GpuOccupancy.objects.create(gpu=gpu, team=team, kind=OccupancyKind.JOB, attempt=attempt, start=start, end=end)


def test_windows_are_clipped_to_the_month_and_other_teams_do_not_count(team_a, team_b):
    first, second = fleet(nodes=1, per_node=2, prefix="hours")
    hold(first, team_a, datetime(2026, 10, 31, 22, tzinfo=UTC), datetime(2026, 11, 1, 3, tzinfo=UTC))  # 3 h inside
    hold(second, team_a, datetime(2026, 11, 10, 8, 30, tzinfo=UTC), datetime(2026, 11, 10, 10, tzinfo=UTC))  # 1.5 h
    hold(first, team_a, datetime(2026, 11, 30, 23, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC))  # 1 h inside
    hold(second, team_a, datetime(2026, 12, 5, tzinfo=UTC), datetime(2026, 12, 6, tzinfo=UTC))  # outside
    hold(second, team_b, datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC))  # another team
    assert team_hours_in(team_id=team_a.pk, lo=LO, hi=HI) == pytest.approx(5.5)
    assert team_hours_in(team_id=team_b.pk, lo=LO, hi=HI) == pytest.approx(24)
    assert team_hours_in(team_id=team_b.pk, lo=HI, hi=datetime(2027, 1, 1, tzinfo=UTC)) == 0.0
