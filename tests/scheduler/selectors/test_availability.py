"""availability_find: the earliest windows that fit, checked against a brute-force search over the
stored rows (every minute-aligned start tried in order)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.errors import Conflict
from scheduler.models import GpuOccupancy
from scheduler.selectors.placement import GpuRequest, availability_find
from scheduler.services.bookings import booking_create
from tests.scheduler.factories import fleet, ids_request, quota_set

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture
def gpus(researcher, team_a):
    quota_set(
        team_a, max_booking_hours=2000, booking_horizon_days=400, gpu_hours_per_month=100000, max_concurrent_gpus=64
    )
    return fleet(nodes=2, per_node=4)


def book(user, gpus, start, end):
    return booking_create(user=user, start=start, end=end, request=ids_request(gpus), now=NOW)


def test_free_now_means_a_window_at_once(gpus):
    assert availability_find(request=GpuRequest(count=8), duration=2 * H, after=NOW, limit=1)[0].start == NOW


def test_it_finds_a_window_past_the_first_search_stretch(researcher, gpus):
    book(researcher, gpus[:1], NOW, NOW + 20 * 24 * H)  # three weeks: beyond the 2- and 14-day stretches
    windows = availability_find(request=GpuRequest(gpu_ids=(gpus[0].pk,)), duration=H, after=NOW, limit=2)
    assert [w.start for w in windows] == [NOW + 20 * 24 * H]


def test_same_node_waits_for_a_whole_node(researcher, gpus):
    book(researcher, gpus[:1], NOW, NOW + 5 * H)
    book(researcher, gpus[4:5], NOW, NOW + 3 * H)
    windows = availability_find(request=GpuRequest(count=4, same_node=True), duration=2 * H, after=NOW, limit=2)
    assert [(w.start, w.gpu_ids) for w in windows] == [
        (NOW + 3 * H, tuple(g.pk for g in gpus[4:8])),
        (NOW + 5 * H, tuple(g.pk for g in gpus[:4])),
    ]


def brute_force_first(rows, gpu_ids, *, count, same_node_of, duration, after, step=timedelta(minutes=30)):
    """Try every half-hour start; the first where `count` GPUs (on one node if asked) are free."""
    start = after
    while True:
        free = [g for g in gpu_ids if all(not (s < start + duration and start < e) for gg, s, e in rows if gg == g)]
        groups = (
            [free]
            if same_node_of is None
            else [[g for g in free if same_node_of[g] == n] for n in set(same_node_of.values())]
        )
        if any(len(group) >= count for group in groups):
            return start
        start += step


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])  # rows are cleared per example
@given(
    bookings=st.lists(
        st.tuples(st.integers(0, 7), st.integers(1, 4), st.integers(0, 40), st.integers(1, 12)), max_size=12
    ),
    count=st.integers(1, 8),
    hours=st.integers(1, 10),
    same_node=st.booleans(),
)
def test_the_first_window_matches_a_brute_force_search(researcher, gpus, bookings, count, hours, same_node):
    GpuOccupancy.objects.all().delete()
    for first, width, offset, length in bookings:
        try:
            book(researcher, gpus[first : first + width], NOW + offset * H, NOW + (offset + length) * H)
        except (ValidationError, Conflict):  # overlaps are refused: skip them, the stored rows are what counts
            pass
    if same_node and count > 4:
        count = 4
    rows = list(GpuOccupancy.objects.values_list("gpu_id", "start", "end"))
    node_of = {g.pk: g.node_id for g in gpus} if same_node else None
    expected = brute_force_first(
        rows, [g.pk for g in gpus], count=count, same_node_of=node_of, duration=hours * H, after=NOW
    )
    found = availability_find(
        request=GpuRequest(count=count, same_node=same_node), duration=hours * H, after=NOW, limit=1
    )
    assert found[0].start == expected
    window_rows = [(g, s, e) for g, s, e in rows if g in found[0].gpu_ids]
    assert all(not (s < found[0].end and found[0].start < e) for _, s, e in window_rows)
