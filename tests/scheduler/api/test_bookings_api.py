"""/api/v1/bookings/: create, list with filters, retrieve, PATCH, DELETE; every bad input is a
400 naming the field, in the portal's error shape. The old path /api/v1/reservations/ answers the same."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from portal.inputs import NAIVE_INSTANT, NOT_AN_INSTANT
from scheduler.api import booking_serializers as s
from scheduler.models import Booking, Gpu, GpuOccupancy, GpuState, Job, Node
from scheduler.services import bookings as svc
from scheduler.wallclock import AMBIGUOUS, IN_DST_GAP
from tests.actors import api_client_for
from tests.scheduler.factories import booking, fleet, hours_from_now, running_job

pytestmark = pytest.mark.django_db
URL = "/api/v1/bookings/"
OLD_URL = "/api/v1/reservations/"
# The literal dates below (2026-12-01, 2027's DST changes) lie after this instant, whatever today is.
FIXED_NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(FIXED_NOW, tick=True):
        yield


@pytest.fixture
def gpus(db):
    return fleet(nodes=2, per_node=4)


def window(start_h=1, end_h=3) -> dict:
    # From the fixed clock: BAD_INPUTS is built at import, before the clock is set.
    return {
        "start": hours_from_now(start_h, base=FIXED_NOW).isoformat(),
        "end": hours_from_now(end_h, base=FIXED_NOW).isoformat(),
    }


def test_it_creates_a_booking_and_answers_201(researcher, gpus):
    response = api_client_for(researcher).post(
        URL, {"gpu_ids": [gpus[0].pk], "note": "sweep", **window()}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["user"], body["team_name"], body["note"], body["state"]) == ("researcher", "Team A", "sweep", "active")
    assert [g["name"] for g in body["gpus"]] == ["node-00/gpu0"]


def test_the_old_reservations_path_answers_like_the_bookings_path(researcher, gpus):
    client = api_client_for(researcher)
    created = client.post(OLD_URL, {"gpu_ids": [gpus[0].pk], **window()}, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert client.get(OLD_URL).json() == client.get(URL).json()
    assert client.get(f"{OLD_URL}{pk}/").json() == client.get(f"{URL}{pk}/").json() == created.json()
    assert client.patch(f"{OLD_URL}{pk}/", {"note": "moved"}, format="json").json()["note"] == "moved"
    assert client.delete(f"{OLD_URL}{pk}/").json()["state"] == "cancelled"


def test_the_schema_marks_only_the_old_path_deprecated():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for new, old in ((URL, OLD_URL), (URL + "{id}/", OLD_URL + "{id}/")):
        assert paths[old].keys() == paths[new].keys()
        assert all(op.get("deprecated") for op in paths[old].values())
        assert not any(op.get("deprecated") for op in paths[new].values())


def test_it_books_by_count_with_constraints(researcher, gpus):
    response = api_client_for(researcher).post(URL, {"gpus": 4, "same_node": True, **window()}, format="json")
    assert response.status_code == 201, response.content
    assert {g["node"] for g in response.json()["gpus"]} in ({"node-00"}, {"node-01"})


def test_wall_clock_input_is_read_in_the_users_time_zone(researcher, gpus):
    researcher.time_zone = "Europe/Berlin"
    researcher.save()
    response = api_client_for(researcher).post(
        URL,
        {"gpu_ids": [gpus[0].pk], "start_local": "2026-12-01T09:00", "end_local": "2026-12-01T18:00"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert (response.json()["start"], response.json()["end"]) == ("2026-12-01T08:00:00Z", "2026-12-01T17:00:00Z")


BAD_INPUTS = [
    ({"gpu_ids": ["G"], **window()}, "gpu_ids"),
    ({"gpus": 1, "start": "2026-12-01T09:00:00", "end": "2026-12-01T10:00:00+00:00"}, "start", NAIVE_INSTANT),
    ({"gpus": 1, "start": "2026-12-01T09:00:00+00:00", "end": "2026-12-01T10:00:00"}, "end", NAIVE_INSTANT),
    ({"gpus": 1, "start": "next tuesday", "end": "2026-12-01T10:00:00+00:00"}, "start", NOT_AN_INSTANT),
    ({"gpus": 1, "end": "2026-12-01T10:00:00+00:00"}, "start", s.GIVE_START),
    ({"gpus": 1, "start": "2026-12-01T10:00:00+00:00"}, "end", s.GIVE_END),
    ({"gpus": 1, **window(3, 3)}, "end", svc.END_NOT_AFTER_START),
    ({"gpus": 1, **window(3, 2)}, "end", svc.END_NOT_AFTER_START),
    ({"gpus": 1, **window(-2, 2)}, "start", svc.START_IN_PAST),
    ({"gpus": 1, **window(1, 24 * 400)}, "end", svc.ABSURD),
    ({"gpus": 0, **window()}, "gpus", svc.NO_GPUS),
    ({"gpus": 9, **window()}, "gpus", svc.MORE_THAN_EXIST.format(count=9, total=8)),
    ({"gpus": -1, **window()}, "gpus"),
    ({"gpu_ids": [424242], **window()}, "gpu_ids", svc.UNKNOWN_GPU.format(id=424242)),
    ({"gpu_ids": [], **window()}, "gpu_ids"),
    ({"gpus": 1, "gpu_ids": [1], **window()}, "gpus", s.GPUS_OR_IDS),
    (
        {"gpus": 1, "start_local": "2027-03-28T02:30", "end_local": "2027-03-28T05:00"},
        "start_local",
        IN_DST_GAP.format(value="2027-03-28T02:30", zone="Europe/Berlin"),
    ),
    (
        {"gpus": 1, "start_local": "2027-10-31T01:00", "end_local": "2027-10-31T02:30"},
        "end_local",
        AMBIGUOUS.format(value="2027-10-31T02:30", zone="Europe/Berlin"),
    ),
    ({"gpus": 1, "start_local": "2027-01-05T09:00+01:00", "end_local": "2027-01-05T10:00"}, "start_local"),
    (
        {
            "gpus": 1,
            "start": "2027-01-05T09:00+01:00",
            "start_local": "2027-01-05T09:00",
            "end": "2027-01-05T10:00+01:00",
        },
        "start",
        s.BOTH_FORMS.format(name="start"),
    ),
    ({"gpus": 1, "team": 99999, **window()}, "team"),
    ({"gpus": 1, "note": "x" * 2001, **window()}, "note"),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[f"{c[1]}-{i}" for i, c in enumerate(BAD_INPUTS)])
def test_every_bad_input_is_a_400_naming_the_field(researcher, gpus, case):
    body, field, *message = case
    researcher.time_zone = "Europe/Berlin"
    researcher.save()
    response = api_client_for(researcher).post(URL, body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert list(errors) == [field], errors
    if message:
        assert errors[field] == message
    assert Booking.objects.count() == GpuOccupancy.objects.count() == 0


def test_an_ambiguous_wall_clock_time_is_accepted_with_a_choice(researcher, team_a, gpus):
    from tests.scheduler.factories import quota_set

    quota_set(team_a, booking_horizon_days=400)
    researcher.time_zone = "Europe/Berlin"
    researcher.save()
    body = {"gpus": 1, "start_local": "2027-10-31T01:00", "end_local": "2027-10-31T02:30", "ambiguous": "later"}
    response = api_client_for(researcher).post(URL, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["end"] == "2027-10-31T01:30:00Z"


def test_a_quota_refusal_says_which_limit_and_by_how_much(researcher, team_a, gpus):
    from tests.scheduler.factories import quota_set

    quota_set(team_a, max_booking_hours=10)
    response = api_client_for(researcher).post(URL, {"gpus": 1, **window(1, 13)}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "max_booking_hours: " + svc.QUOTA_LENGTH.format(requested=12.0, limit=10.0, over=2.0),
        "errors": {"max_booking_hours": [svc.QUOTA_LENGTH.format(requested=12.0, limit=10.0, over=2.0)]},
        "quota": {"limit": "max_booking_hours", "value": 10.0, "requested": 12.0, "over_by": 2.0},
    }


def test_a_conflict_is_a_409_with_conflicts_and_suggestions(researcher, outsider, gpus):
    first = booking(user=researcher, gpus=gpus[:1], start=hours_from_now(1), end=hours_from_now(3), note="private")
    response = api_client_for(outsider).post(URL, {"gpu_ids": [gpus[0].pk], **window(2, 4)}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert (body["detail"], body["errors"]) == (svc.TAKEN, {})
    assert body["conflicts"][0]["user"] == "researcher" and body["conflicts"][0]["booking"] == first.pk
    assert body["conflicts"][0]["reservation"] == first.pk  # the old name, kept for API clients
    assert "private" not in response.content.decode()
    assert body["suggestions"][0] == {
        "start": hours_from_now(3).isoformat(),
        "end": hours_from_now(5).isoformat(),
        "gpu_ids": [gpus[0].pk],
    }


def test_a_conflict_with_a_job_placed_by_the_pass_names_the_job_not_its_attempt(researcher, outsider, team_a, gpus):
    Job.objects.create(
        owner=researcher,
        team=team_a,
        name="waits",
        command="true",
        working_dir="/tmp",
        gpus=1,
        time_limit_s=600,
        state="cancelled",
    )
    Gpu.objects.exclude(pk=gpus[0].pk).update(state=GpuState.DRAINED)  # the pass can place on gpus[0] only
    Node.objects.update(last_heartbeat=timezone.now())  # the node reports: it is placeable
    job, attempt = running_job(researcher)  # job ids now run ahead of attempt ids
    assert job.pk != attempt.pk
    Gpu.objects.update(state=GpuState.AVAILABLE)
    response = api_client_for(outsider).post(URL, {"gpu_ids": [gpus[0].pk], **window(0, 2)}, format="json")
    assert response.status_code == 409
    [conflict] = response.json()["conflicts"]
    assert (conflict["kind"], conflict["job"], conflict["booking"]) == ("job", job.pk, None)
    assert "user" not in conflict  # another team's job: whose it is stays private


def test_the_list_shows_everyones_bookings_but_only_my_teams_notes(researcher, outsider, gpus):
    booking(user=researcher, gpus=gpus[:1], start=hours_from_now(1), end=hours_from_now(3), note="team A secret")
    booking(user=outsider, gpus=gpus[1:2], start=hours_from_now(1), end=hours_from_now(3), note="team B plan")
    seen_by_b = {r["user"]: r["note"] for r in api_client_for(outsider).get(URL).json()["results"]}
    assert seen_by_b == {"researcher": None, "outsider": "team B plan"}


def test_the_list_filters(researcher, outsider, team_b, gpus):
    mine = booking(user=researcher, gpus=gpus[:1], start=hours_from_now(1), end=hours_from_now(3))
    theirs = booking(user=outsider, gpus=gpus[1:2], start=hours_from_now(5), end=hours_from_now(7))
    client = api_client_for(researcher)

    def ids(query):
        return [r["id"] for r in client.get(URL + query).json()["results"]]

    assert ids("?mine=true") == [mine.pk]
    assert ids(f"?team={team_b.pk}") == [theirs.pk]
    assert ids("?user=outsider") == [theirs.pk]
    assert ids(f"?gpu={gpus[0].pk}") == [mine.pk]
    assert ids("?starts_before=" + hours_from_now(4).isoformat().replace("+", "%2B")) == [mine.pk]
    assert ids("?ends_after=" + hours_from_now(4).isoformat().replace("+", "%2B")) == [theirs.pk]
    assert ids("?state=cancelled") == []


def test_patch_extends_and_delete_cancels(researcher, gpus):
    mine = booking(user=researcher, gpus=gpus[:1], start=hours_from_now(1), end=hours_from_now(3))
    client = api_client_for(researcher)
    response = client.patch(f"{URL}{mine.pk}/", {"end": hours_from_now(5).isoformat()}, format="json")
    assert response.status_code == 200, response.content
    assert GpuOccupancy.objects.get().end == hours_from_now(5)
    response = client.delete(f"{URL}{mine.pk}/")
    assert (response.status_code, response.json()["state"]) == (200, "cancelled")
    assert GpuOccupancy.objects.count() == 0
    assert client.get(f"{URL}{mine.pk}/").json()["state"] == "cancelled"


def test_patch_refuses_bad_input_naming_the_field(researcher, gpus):
    mine = booking(user=researcher, gpus=gpus[:1], start=hours_from_now(1), end=hours_from_now(3))
    client = api_client_for(researcher)
    for body, field in [
        ({"end": "2026-12-01T10:00:00"}, "end"),
        ({"end": hours_from_now(0.5).isoformat()}, "end"),
        ({"start_local": "tomorrow"}, "start_local"),
    ]:
        response = client.patch(f"{URL}{mine.pk}/", body, format="json")
        assert (response.status_code, list(response.json()["errors"])) == (400, [field])


def test_availability_returns_the_earliest_windows_that_fit(researcher, outsider, gpus):
    booking(user=outsider, gpus=gpus[:4], start=hours_from_now(1), end=hours_from_now(3))
    booking(user=outsider, gpus=gpus[4:6], start=hours_from_now(0.5), end=hours_from_now(4))
    after = hours_from_now(1).isoformat().replace("+", "%2B")
    response = api_client_for(researcher).get(
        f"/api/v1/availability/?gpus=4&duration=PT2H&after={after}&same_node=true&limit=2"
    )
    assert response.status_code == 200, response.content
    assert response.json() == [
        {
            "start": hours_from_now(3).isoformat().replace("+00:00", "Z"),
            "end": hours_from_now(5).isoformat().replace("+00:00", "Z"),
            "gpu_ids": [g.pk for g in gpus[:4]],
        },
        {
            "start": hours_from_now(4).isoformat().replace("+00:00", "Z"),
            "end": hours_from_now(6).isoformat().replace("+00:00", "Z"),
            "gpu_ids": [g.pk for g in gpus[:4]],
        },
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("gpus=4&duration=soon", "duration"),
        ("gpus=4&duration=PT0S", "duration"),
        ("gpus=0&duration=PT1H", "gpus"),
        ("gpus=99&duration=PT1H", "gpus"),
        ("gpus=1&duration=PT1H&after=2026-12-01T10:00", "after"),
        ("gpus=1", "duration"),
    ],
)
def test_availability_refuses_bad_queries_naming_the_field(researcher, gpus, query, field):
    response = api_client_for(researcher).get(f"/api/v1/availability/?{query}")
    assert (response.status_code, list(response.json()["errors"])) == (400, [field])


def test_quota_usage_counts_reserved_hours_for_members_only(researcher, outsider, team_a, gpus):
    booking(user=researcher, gpus=gpus[:2], start=hours_from_now(1), end=hours_from_now(4))
    start, end = hours_from_now(1), hours_from_now(4)
    month_end = (start.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(
        day=1
    )  # site zone is UTC in tests
    expected = 2 * (min(end, month_end) - start).total_seconds() / 3600  # 6, unless the month ends inside the window
    response = api_client_for(researcher).get(f"/api/v1/teams/{team_a.pk}/quota/usage/?month={start:%Y-%m}")
    body = response.json()
    assert (body["reserved_gpu_hours"], body["used_gpu_hours"], body["gpu_hours_per_month"]) == (expected, 0.0, 2000.0)
    assert body["remaining_gpu_hours"] == 2000.0 - expected
    assert api_client_for(outsider).get(f"/api/v1/teams/{team_a.pk}/quota/usage/").status_code == 404
    assert api_client_for(researcher).get(f"/api/v1/teams/{team_a.pk}/quota/usage/?month=11-2026").json()["errors"] == {
        "month": ["Give a month as YYYY-MM, e.g. 2026-11."]
    }
