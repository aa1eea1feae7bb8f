"""/api/v1/nodes/, /api/v1/gpus/ (filters), metrics series, drain and undrain."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from portal.inputs import NAIVE_INSTANT
from portal.notifications.models import Notification
from scheduler import durations
from scheduler.api.fleet_serializers import BAD_STEP, END_BEFORE_START
from scheduler.models import Booking, GpuState, Node
from scheduler.services.drain import REASON_REQUIRED
from scheduler.services.telemetry import SampleRow, rollups_update, samples_write
from tests.actors import api_client_for
from tests.scheduler.fleet.readings import make_gpu

pytestmark = pytest.mark.django_db


@pytest.fixture
def gpus():
    now = timezone.now()
    return {
        "a0": make_gpu(
            node_name="api-a",
            index=0,
            model="NVIDIA A100-SXM4-80GB",
            heartbeat=now,
            util_gpu_pct=0,
            memory_used_mb=10,
            process_count=0,
        ),
        "a1": make_gpu(
            node_name="api-a",
            index=1,
            model="NVIDIA A100-SXM4-80GB",
            heartbeat=now,
            process_count=1,
            processes=[{"pid": 5, "mem": 9, "owner": "unknown", "rogue": "unowned"}],
        ),
        "l0": make_gpu(
            node_name="api-l", index=0, model="NVIDIA L40S", heartbeat=now, state=GpuState.DRAINED, drain_reason="fan"
        ),
        "d0": make_gpu(node_name="api-down", index=0, model="NVIDIA L40S", heartbeat=now - timedelta(minutes=5)),
    }


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_every_signed_in_user_lists_nodes_with_up_or_down(gpus, annotator):
    rows = {row["name"]: row for row in api_client_for(annotator).get("/api/v1/nodes/?page_size=500").json()["results"]}
    assert (rows["api-a"]["up"], rows["api-down"]["up"], rows["api-a"]["gpu_count"]) == (True, False, 2)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("node=api-a", {"a0", "a1"}),
        ("model=L40S&node=api-l", {"l0"}),
        ("state=drained", {"l0"}),
        ("state=node_down", {"d0"}),
        ("state=available&node=api-a", {"a0", "a1"}),
        ("free_now=true&node=api-a", {"a0"}),
    ],
)
def test_gpus_filter_by_node_model_state_and_free_now(gpus, researcher, query, expected):
    found = _ids(api_client_for(researcher).get(f"/api/v1/gpus/?page_size=500&{query}"))
    assert found & {g.id for g in gpus.values()} == {gpus[name].id for name in expected}


def test_free_now_excludes_a_gpu_booked_now(gpus, researcher, team_a):
    now = timezone.now()
    booking = Booking.objects.create(
        user=researcher, team=team_a, start=now - timedelta(hours=1), end=now + timedelta(hours=1)
    )
    booking.gpus.add(gpus["a0"])
    assert gpus["a0"].id not in _ids(api_client_for(researcher).get("/api/v1/gpus/?free_now=true&node=api-a"))


def test_an_unknown_state_is_a_400_naming_the_field(researcher):
    response = api_client_for(researcher).get("/api/v1/gpus/?state=melted")
    assert response.status_code == 400
    assert "state" in response.json()["errors"]


def test_gpu_detail_shows_reading_processes_and_board_state(gpus, researcher):
    body = api_client_for(researcher).get(f"/api/v1/gpus/{gpus['a1'].id}/").json()
    assert body["board_state"] == "available" and body["node"] == "api-a"
    assert body["processes"] == [
        {"pid": 5, "used_memory_mb": 9, "owner": "unknown", "rogue": "unowned", "job": None, "user": ""}
    ]
    assert api_client_for(researcher).get("/api/v1/gpus/999999/").status_code == 404


def test_metrics_picks_raw_for_an_hour_and_minutes_for_a_day(gpus, researcher):
    gpu = gpus["a0"]
    now = timezone.now().replace(microsecond=0)
    samples_write(rows=[SampleRow(gpu.id, now - timedelta(seconds=s), 50, 1, 100, 40, 150.0) for s in range(1, 181)])
    rollups_update(now=now, since=now - timedelta(minutes=5))
    client = api_client_for(researcher)

    hour = client.get(
        f"/api/v1/gpus/{gpu.id}/metrics/", {"start": (now - timedelta(hours=1)).isoformat(), "end": now.isoformat()}
    ).json()
    assert hour["resolution"] == "raw" and len(hour["t"]) == 180 and set(hour["util"]) == {50}
    day = client.get(
        f"/api/v1/gpus/{gpu.id}/metrics/", {"start": (now - timedelta(hours=24)).isoformat(), "end": now.isoformat()}
    ).json()
    assert day["resolution"] == "1m" and 3 <= len(day["t"]) <= 4 and day["util"][0] == 50
    stepped = client.get(
        f"/api/v1/gpus/{gpu.id}/metrics/", {"start": (now - timedelta(hours=1)).isoformat(), "step": "PT1M"}
    ).json()
    assert stepped["resolution"] == "1m"


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"start": "2026-11-02T09:00:00"}, "start", NAIVE_INSTANT),
        ({"end": "2026-11-02T09:00:00"}, "end", NAIVE_INSTANT),
        ({"start": "2026-11-02T10:00:00+00:00", "end": "2026-11-02T09:00:00Z"}, "end", END_BEFORE_START),
        ({"step": "soon"}, "step", durations.NOT_A_DURATION.format(text="soon")),
        ({"step": "0"}, "step", BAD_STEP),
    ],
)
def test_metrics_refuses_bad_input_naming_the_field(gpus, researcher, params, field, message):
    response = api_client_for(researcher).get(f"/api/v1/gpus/{gpus['a0'].id}/metrics/", params)
    assert response.status_code == 400
    assert response.json()["errors"] == {field: [message]}


def test_drain_needs_a_reason(gpus, admin):
    response = api_client_for(admin).post(f"/api/v1/gpus/{gpus['a0'].id}/drain/", {"reason": "  "}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"reason": [REASON_REQUIRED]}
    gpus["a0"].refresh_from_db()
    assert gpus["a0"].state == GpuState.AVAILABLE


def test_drain_preview_lists_affected_bookings_and_changes_nothing(gpus, admin, researcher, team_a):
    booking = _booking(researcher, team_a, gpus["a0"], hours_from_now=2)
    body = api_client_for(admin).post(f"/api/v1/gpus/{gpus['a0'].id}/drain/", {"dry_run": True}, format="json").json()
    assert body["dry_run"] is True and [b["id"] for b in body["affected_bookings"]] == [booking.id]
    assert body["gpu"]["state"] == "available"
    assert not Notification.objects.filter(user=researcher).exists()


def test_drain_marks_the_gpu_and_notifies_owners_of_affected_bookings(gpus, admin, researcher, team_a):
    booking = _booking(researcher, team_a, gpus["a0"], hours_from_now=2)
    _booking(researcher, team_a, gpus["a0"], hours_from_now=-5)  # over already: not affected
    response = api_client_for(admin).post(f"/api/v1/gpus/{gpus['a0'].id}/drain/", {"reason": "PSU swap"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["gpu"]["state"], body["gpu"]["board_state"], body["gpu"]["drain_reason"]) == (
        "drained",
        "drained",
        "PSU swap",
    )
    assert [b["id"] for b in body["affected_bookings"]] == [booking.id]
    note = Notification.objects.get(user=researcher)
    assert note.kind == "booking_drain" and "PSU swap" in note.body

    undrained = api_client_for(admin).post(f"/api/v1/gpus/{gpus['a0'].id}/undrain/").json()
    assert (undrained["state"], undrained["drain_reason"]) == ("available", "")


def test_node_drain_drains_every_gpu_on_the_board(gpus, admin):
    node = Node.objects.get(name="api-a")
    response = api_client_for(admin).post(f"/api/v1/nodes/{node.id}/drain/", {"reason": "kernel update"}, format="json")
    assert response.status_code == 200 and response.json()["node"]["drained"] is True
    states = {row["board_state"] for row in api_client_for(admin).get("/api/v1/gpus/?node=api-a").json()["results"]}
    assert states == {"drained"}
    api_client_for(admin).post(f"/api/v1/nodes/{node.id}/undrain/")
    states = {row["board_state"] for row in api_client_for(admin).get("/api/v1/gpus/?node=api-a").json()["results"]}
    assert states == {"available"}


def test_a_non_admin_gets_403_on_drain_and_the_gpu_stays(gpus, team_admin):
    response = api_client_for(team_admin).post(
        f"/api/v1/gpus/{gpus['a0'].id}/drain/", {"reason": "mine"}, format="json"
    )
    assert response.status_code == 403 and response.json()["detail"]
    gpus["a0"].refresh_from_db()
    assert gpus["a0"].state == GpuState.AVAILABLE


def _booking(user, team, gpu, *, hours_from_now: float) -> Booking:
    start = datetime.now(UTC) + timedelta(hours=hours_from_now)
    booking = Booking.objects.create(user=user, team=team, start=start, end=start + timedelta(hours=2))
    booking.gpus.add(gpu)
    return booking
