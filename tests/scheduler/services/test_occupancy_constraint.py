"""The no-overlap rule is a database invariant on PostgreSQL, not only a check in Python: rows
written past the service are refused by the exclusion constraint; adjacent windows are allowed."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction  # noqa: F401 (connection: read by skipif)

from scheduler.models import GpuOccupancy, OccupancyKind
from tests.scheduler.factories import attempt_row, booking, fleet, hours_from_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(researcher):
    gpu = fleet(nodes=1, per_node=1)[0]
    return booking(user=researcher, gpus=[gpu], start=hours_from_now(1), end=hours_from_now(3)), gpu


def raw_row(held, start, end):
    booking, gpu = held
    return GpuOccupancy(
        gpu=gpu,
        team=booking.team,
        user=booking.user,
        kind=OccupancyKind.JOB,
        attempt=attempt_row(booking.user, booking.team),
        start=start,
        end=end,
    )


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the exclusion constraint exists on PostgreSQL only")
def test_postgresql_refuses_an_overlapping_row_written_past_the_service(held):
    with pytest.raises(IntegrityError, match="occupancy_no_overlap_per_gpu"), transaction.atomic():
        raw_row(held, hours_from_now(2), hours_from_now(4)).save()


def test_the_database_accepts_adjacent_rows(held):
    raw_row(held, hours_from_now(3), hours_from_now(4)).save()
    raw_row(held, hours_from_now(0.5), hours_from_now(1)).save()
    assert GpuOccupancy.objects.count() == 3


def test_the_database_refuses_an_empty_or_backwards_window(held):
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_row(held, hours_from_now(5), hours_from_now(5) - timedelta(minutes=1)).save()
