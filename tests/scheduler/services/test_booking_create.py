"""Booking GPUs through the service: windows are half-open, overlaps conflict, GPUs are packed."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from portal.errors import Conflict
from portal.realtime.models import Event
from scheduler.models import Booking, GpuOccupancy, GpuState
from scheduler.services import bookings as svc
from scheduler.services.bookings import booking_cancel, booking_create
from tests.scheduler.factories import attempt_row, count_request, fleet, hours_from_now, ids_request

pytestmark = pytest.mark.django_db


# Each test starts at the top of a minute on a ticking clock: `hours_from_now` (whole minutes) gives the
# same instant at the test's start and at its asserts (a minute boundary between them failed a test).
START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock_at_a_minutes_start():
    with time_machine.travel(START, tick=True):
        yield


@pytest.fixture
def gpus(db):
    return fleet(nodes=2, per_node=8)


def book(user, gpus, start_h, end_h, **kwargs):
    return booking_create(
        user=user, start=hours_from_now(start_h), end=hours_from_now(end_h), request=ids_request(gpus), **kwargs
    )


def errors_of(excinfo) -> dict:
    return {field: [str(m) for m in msgs] for field, msgs in excinfo.value.message_dict.items()}


def test_it_books_explicit_gpus_for_the_users_team(researcher, team_a, gpus):
    booking = book(researcher, gpus[:2], 1, 3, note="ablation")
    assert (booking.user, booking.team, booking.note) == (researcher, team_a, "ablation")
    rows = GpuOccupancy.objects.order_by("gpu_id")
    assert [(r.gpu_id, r.start, r.end, r.team_id, r.booking_id) for r in rows] == [
        (g.pk, booking.start, booking.end, team_a.pk, booking.pk) for g in gpus[:2]
    ]


def test_open_timelines_are_told_by_the_new_name_and_the_old_one(researcher, gpus):
    booking = book(researcher, gpus[:1], 1, 3)
    event = Event.objects.get(kind=svc.BOOKING_EVENT)
    assert (event.topic, event.payload) == (
        "public",
        {"booking": booking.pk, "reservation": booking.pk, "action": "created"},
    )


def test_adjacent_windows_both_succeed(researcher, outsider, gpus):
    book(researcher, gpus[:1], 1, 3)
    book(outsider, gpus[:1], 3, 5)
    book(outsider, gpus[:1], 0.5, 1)
    assert GpuOccupancy.objects.count() == 3


@pytest.mark.parametrize(
    ("start_h", "end_h"),
    [(1, 3), (1.5, 2.5), (0.5, 1.5), (2.5, 4), (0.5, 4)],
    ids=["identical", "contained", "overlapping-start", "overlapping-end", "containing"],
)
def test_it_refuses_overlapping_booking(researcher, outsider, gpus, start_h, end_h):
    first = book(researcher, gpus[:1], 1, 3)
    with pytest.raises(Conflict) as excinfo:
        book(outsider, gpus[:1], start_h, end_h)
    assert str(excinfo.value.detail) == svc.TAKEN
    assert excinfo.value.extra["conflicts"] == [
        {
            "gpu": gpus[0].pk,
            "gpu_name": "node-00/gpu0",
            "start": first.start.isoformat(),
            "end": first.end.isoformat(),
            "kind": "booking",
            "booking": first.pk,
            "reservation": first.pk,
            "job": None,
            "team": "Team A",
            "user": "researcher",
        }
    ]
    suggestion = excinfo.value.extra["suggestions"][0]
    assert (suggestion["start"], suggestion["gpu_ids"]) == (first.end.isoformat(), [gpus[0].pk])
    assert Booking.objects.count() == 1


def test_a_refused_multi_gpu_booking_writes_nothing(researcher, outsider, gpus):
    book(researcher, gpus[3:4], 1, 3)
    with pytest.raises(Conflict):
        book(outsider, gpus[:4], 2, 4)
    assert (Booking.objects.count(), GpuOccupancy.objects.count()) == (1, 1)


def test_cancel_then_rebook_succeeds(researcher, outsider, gpus):
    first = book(researcher, gpus[:1], 1, 3)
    booking_cancel(booking=first, by=researcher)
    second = book(outsider, gpus[:1], 1, 3)
    assert list(GpuOccupancy.objects.values_list("booking_id", flat=True)) == [second.pk]


def test_a_count_packs_onto_the_fullest_node_that_fits(researcher, gpus):
    book(researcher, gpus[8:13], 1, 3)  # node-01 has 3 free, node-00 has 8
    booking = booking_create(user=researcher, start=hours_from_now(1), end=hours_from_now(3), request=count_request(3))
    assert sorted(str(g) for g in booking.gpus.all()) == ["node-01/gpu5", "node-01/gpu6", "node-01/gpu7"]


def test_a_count_spans_the_fewest_nodes(researcher, gpus):
    book(researcher, gpus[0:2] + gpus[8:14], 1, 3)  # 6 free on node-00, 2 on node-01
    booking = booking_create(user=researcher, start=hours_from_now(1), end=hours_from_now(3), request=count_request(7))
    assert sorted(str(g) for g in booking.gpus.all()) == [f"node-00/gpu{i}" for i in range(2, 8)] + ["node-01/gpu6"]


def test_same_node_refuses_when_no_node_has_enough(researcher, outsider, gpus):
    book(researcher, gpus[0:2] + gpus[8:10], 1, 3)
    with pytest.raises(Conflict) as excinfo:
        booking_create(
            user=outsider, start=hours_from_now(1), end=hours_from_now(3), request=count_request(7, same_node=True)
        )
    assert str(excinfo.value.detail) == svc.NO_FIT
    assert excinfo.value.extra["suggestions"][0]["start"] == hours_from_now(3).isoformat()


def test_constraints_pick_model_memory_and_node(researcher):
    fleet(nodes=1, per_node=4, model="L40S-48GB", memory_mb=49152, prefix="l40s")
    fleet(nodes=1, per_node=4, prefix="a100")
    by_model = booking_create(
        user=researcher, start=hours_from_now(1), end=hours_from_now(2), request=count_request(2, model="L40S-48GB")
    )
    by_memory = booking_create(
        user=researcher, start=hours_from_now(1), end=hours_from_now(2), request=count_request(2, min_memory_mb=80000)
    )
    by_node = booking_create(
        user=researcher, start=hours_from_now(1), end=hours_from_now(2), request=count_request(2, node="l40s-00")
    )
    assert {g.node.name for g in by_model.gpus.all()} == {"l40s-00"}
    assert {g.node.name for g in by_memory.gpus.all()} == {"a100-00"}
    assert {g.node.name for g in by_node.gpus.all()} == {"l40s-00"}


@pytest.mark.parametrize(
    ("start_h", "end_h", "field", "message"),
    [
        (3, 3, "end", svc.END_NOT_AFTER_START),
        (3, 1, "end", svc.END_NOT_AFTER_START),
        (-1, 1, "start", svc.START_IN_PAST),
        (1, 1 + 24 * 367, "end", svc.ABSURD),
    ],
)
def test_it_refuses_bad_windows_naming_the_field(researcher, gpus, start_h, end_h, field, message):
    with pytest.raises(ValidationError) as excinfo:
        book(researcher, gpus[:1], start_h, end_h)
    assert errors_of(excinfo) == {field: [message]}
    assert Booking.objects.count() == 0


def test_it_refuses_zero_gpus_and_more_than_exist(researcher, gpus):
    for count, message in [(0, svc.NO_GPUS), (17, svc.MORE_THAN_EXIST.format(count=17, total=16))]:
        with pytest.raises(ValidationError) as excinfo:
            booking_create(
                user=researcher, start=hours_from_now(1), end=hours_from_now(2), request=count_request(count)
            )
        assert errors_of(excinfo) == {"gpus": [message]}


def test_it_refuses_unknown_drained_and_lost_gpus(researcher, gpus):
    gpus[1].state = GpuState.DRAINED
    gpus[1].save()
    gpus[2].state = GpuState.LOST
    gpus[2].save()
    node = gpus[8].node
    node.drained = True
    node.save()
    cases = [
        ((999999,), svc.UNKNOWN_GPU.format(id=999999)),
        ((gpus[1].pk,), svc.GPU_NOT_BOOKABLE.format(name="node-00/gpu1", state="drained")),
        ((gpus[2].pk,), svc.GPU_NOT_BOOKABLE.format(name="node-00/gpu2", state="lost")),
        ((gpus[8].pk,), svc.GPU_NOT_BOOKABLE.format(name="node-01/gpu0", state="drained")),
        ((gpus[0].pk, gpus[0].pk), svc.DUPLICATE_GPU.format(id=gpus[0].pk)),
    ]
    for gpu_ids, message in cases:
        from scheduler.selectors.placement import GpuRequest

        with pytest.raises(ValidationError) as excinfo:
            booking_create(
                user=researcher, start=hours_from_now(1), end=hours_from_now(2), request=GpuRequest(gpu_ids=gpu_ids)
            )
        assert errors_of(excinfo) == {"gpu_ids": [message]}
    assert Booking.objects.count() == 0


def test_a_count_never_picks_drained_or_lost_gpus(researcher):
    gpus = fleet(nodes=1, per_node=4)
    for gpu in gpus[:2]:
        gpu.state = GpuState.LOST
        gpu.save()
    booking = booking_create(user=researcher, start=hours_from_now(1), end=hours_from_now(2), request=count_request(2))
    assert sorted(g.index for g in booking.gpus.all()) == [2, 3]


def test_annotators_and_people_without_a_team_cannot_book(annotator, gpus):
    with pytest.raises(ValidationError) as excinfo:
        book(annotator, gpus[:1], 1, 2)
    assert errors_of(excinfo) == {"team": [svc.NO_TEAM]}


def test_a_member_of_two_teams_must_say_which(researcher, team_b, gpus):
    from portal.teams.models import Role
    from portal.teams.services import membership_set

    membership_set(team=team_b, user=researcher, roles={Role.RESEARCHER})
    with pytest.raises(ValidationError) as excinfo:
        book(researcher, gpus[:1], 1, 2)
    assert errors_of(excinfo) == {"team": [svc.TEAM_REQUIRED]}
    assert book(researcher, gpus[:1], 1, 2, team=team_b).team == team_b


def test_windows_are_stored_in_utc(researcher, gpus):
    from zoneinfo import ZoneInfo

    start = (
        (datetime.now(UTC) + timedelta(days=2))
        .astimezone(ZoneInfo("Asia/Seoul"))
        .replace(minute=0, second=0, microsecond=0)
    )
    booking = booking_create(
        user=researcher, start=start, end=start + timedelta(hours=2), request=ids_request(gpus[:1])
    )
    booking.refresh_from_db()
    assert booking.start == start and booking.start.utcoffset() == timedelta(0)


def test_a_booking_over_another_teams_running_job_conflicts_naming_the_job_not_its_owner(
    researcher, outsider, team_b, gpus
):
    attempt = attempt_row(outsider, team_b)
    GpuOccupancy.objects.create(
        gpu=gpus[0],
        team=team_b,
        user=outsider,
        kind="job",
        attempt=attempt,
        start=hours_from_now(-1),
        end=hours_from_now(2),
    )
    with pytest.raises(Conflict) as excinfo:
        book(researcher, gpus[:1], 1, 3)
    (conflict,) = excinfo.value.extra["conflicts"]
    assert (conflict["kind"], conflict["job"], conflict["booking"]) == ("job", attempt.job_id, None)
    assert "user" not in conflict and "team" not in conflict  # jobs are private to their team (docs/decisions.md §2)
    assert excinfo.value.extra["suggestions"][0]["start"] == hours_from_now(2).isoformat()
