"""A booking that would break any of the team's limits is refused, naming the limit and by how much."""

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.models import Booking
from scheduler.services import bookings as svc
from scheduler.services.bookings import QuotaExceeded, booking_create
from tests.scheduler.factories import count_request, fleet, ids_request, quota_set

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def gpus(db):
    return fleet(nodes=2, per_node=8)


def book(user, gpus, start, end):
    return booking_create(user=user, start=start, end=end, request=ids_request(gpus), now=NOW)


def refusal(excinfo) -> tuple:
    return {f: [str(m) for m in msgs] for f, msgs in excinfo.value.message_dict.items()}, excinfo.value.extra["quota"]


def test_it_refuses_a_booking_longer_than_the_team_may(researcher, team_a, gpus):
    quota_set(team_a, max_booking_hours=24)
    with pytest.raises(QuotaExceeded) as excinfo:
        book(researcher, gpus[:1], NOW + timedelta(hours=1), NOW + timedelta(hours=31))
    assert refusal(excinfo) == (
        {"max_booking_hours": [svc.QUOTA_LENGTH.format(requested=30.0, limit=24.0, over=6.0)]},
        {"limit": "max_booking_hours", "value": 24.0, "requested": 30.0, "over_by": 6.0},
    )


def test_it_refuses_booking_beyond_the_horizon(researcher, team_a, gpus):
    quota_set(team_a, booking_horizon_days=7)
    with pytest.raises(QuotaExceeded) as excinfo:
        book(researcher, gpus[:1], NOW + timedelta(days=8), NOW + timedelta(days=8, hours=12))
    assert refusal(excinfo)[1] == {"limit": "booking_horizon_days", "value": 7.0, "requested": 8.5, "over_by": 1.5}


def test_it_refuses_more_concurrent_gpus_than_the_limit(researcher, team_admin, team_a, gpus):
    quota_set(team_a, max_concurrent_gpus=4)
    book(researcher, gpus[:3], NOW + timedelta(hours=1), NOW + timedelta(hours=3))
    book(team_admin, gpus[3:4], NOW + timedelta(hours=3), NOW + timedelta(hours=5))  # adjacent: never 5 at once
    with pytest.raises(QuotaExceeded) as excinfo:
        book(team_admin, gpus[8:10], NOW + timedelta(hours=2), NOW + timedelta(hours=4))
    assert refusal(excinfo) == (
        {"max_concurrent_gpus": [svc.QUOTA_CONCURRENT.format(requested=5.0, limit=4.0, over=1.0)]},
        {"limit": "max_concurrent_gpus", "value": 4.0, "requested": 5.0, "over_by": 1.0},
    )


def test_it_refuses_gpu_hours_over_the_monthly_quota(researcher, team_a, gpus):
    quota_set(team_a, gpu_hours_per_month=100)
    book(researcher, gpus[:8], NOW + timedelta(hours=1), NOW + timedelta(hours=11))  # 80 GPU-hours
    with pytest.raises(QuotaExceeded) as excinfo:
        book(researcher, gpus[8:11], NOW + timedelta(hours=1), NOW + timedelta(hours=9))  # 24 more
    assert refusal(excinfo) == (
        {"gpu_hours_per_month": [svc.QUOTA_HOURS.format(requested=104.0, month="2026-11", limit=100.0, over=4.0)]},
        {"limit": "gpu_hours_per_month", "value": 100.0, "requested": 104.0, "over_by": 4.0},
    )
    assert Booking.objects.count() == 1


def test_a_booking_across_months_counts_each_month_on_its_own(researcher, team_a, gpus):
    quota_set(team_a, gpu_hours_per_month=30, max_booking_hours=100, booking_horizon_days=60)
    start = datetime(2026, 11, 30, 12, tzinfo=UTC)
    book(researcher, gpus[:1], start, start + timedelta(hours=36))  # 12 h in November, 24 h in December
    with pytest.raises(QuotaExceeded) as excinfo:
        book(researcher, gpus[1:2], datetime(2026, 12, 2, tzinfo=UTC), datetime(2026, 12, 2, 7, tzinfo=UTC))
    assert refusal(excinfo)[1]["requested"] == 31.0
    book(
        researcher, gpus[1:2], datetime(2026, 11, 29, tzinfo=UTC), datetime(2026, 11, 29, 18, tzinfo=UTC)
    )  # November: 30


def test_another_teams_usage_does_not_count(researcher, outsider, team_a, gpus):
    quota_set(team_a, gpu_hours_per_month=10)
    book(outsider, gpus[:8], NOW + timedelta(hours=1), NOW + timedelta(hours=11))
    assert book(researcher, gpus[8:9], NOW + timedelta(hours=1), NOW + timedelta(hours=11)).team == team_a


def test_a_count_request_is_checked_against_quota_too(researcher, team_a, gpus):
    quota_set(team_a, max_concurrent_gpus=2)
    with pytest.raises(QuotaExceeded):
        booking_create(
            user=researcher,
            start=NOW + timedelta(hours=1),
            end=NOW + timedelta(hours=2),
            request=count_request(3),
            now=NOW,
        )
