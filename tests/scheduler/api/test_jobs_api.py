"""POST /api/v1/jobs/ and friends: bad input is a 400 naming the field; nothing is written."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from scheduler import durations
from scheduler.api import job_serializers
from scheduler.api.job_serializers import TypedDurationField
from scheduler.models import Job
from scheduler.services import jobs as job_services
from tests.actors import api_client_for
from tests.scheduler.factories import booking, fleet, hours_from_now, quota_set


@pytest.fixture
def gpus(db):
    return fleet(nodes=2, per_node=4)


def submit(user, **fields):
    body = {"command": "python train.py", "gpus": 1, "time_limit": "PT1H"} | fields
    return api_client_for(user).post("/api/v1/jobs/", body, format="json")


def test_a_valid_submit_is_created_pending_with_a_location(gpus, researcher):
    response = submit(researcher, name="t", env={"LR": "3e-4"}, inputs={"dataset": "dataset:1@v2"})
    assert response.status_code == 201
    body = response.json()
    assert response["Location"] == f"/api/v1/jobs/{body['id']}/"
    assert body["state"] == "pending" and body["owner"] == "researcher" and body["team"] == "Team A"
    assert body["time_limit"] == "PT3600S"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"command": "   "}, "command", job_services.COMMAND_REQUIRED),
        ({"gpus": 5}, "gpus", job_services.GPUS_MORE_THAN_A_NODE.format(gpus=5, constraint="", largest=4)),
        ({"gpus": 9, "multi_node": True}, "gpus", job_services.GPUS_MORE_THAN_CLUSTER.format(total=8, gpus=9)),
        ({"gpus": 0}, "gpus", job_services.GPUS_RANGE),
        (
            {"env": {"LD_PRELOAD": "/evil.so"}},
            "env",
            "'LD_PRELOAD' is set by Atelier or would change how the job is started; choose another name.",
        ),
        (
            {"env": {"1X": "y"}},
            "env",
            "'1X' is not a valid environment variable name (letters, digits and _, not starting with a digit).",
        ),
        ({"priority": "high"}, "priority", job_services.HIGH_NEEDS_ADMIN),
        (
            {"working_dir": "../../etc"},
            "working_dir",
            job_services.WORKDIR_OUTSIDE_ROOT.format(root=settings.JOB_WORKDIR_ROOT),
        ),
        (
            {"working_dir": "/etc"},
            "working_dir",
            job_services.WORKDIR_OUTSIDE_ROOT.format(root=settings.JOB_WORKDIR_ROOT),
        ),
        ({"booking": 999999}, "booking", job_services.BOOKING_UNKNOWN),
        ({"reservation": 999999}, "reservation", job_services.BOOKING_UNKNOWN),  # the old name answers by it
        ({"booking": 1, "reservation": 2}, "booking", job_serializers.BOOKING_NAMED_TWICE),
    ],
)
def test_bad_input_is_a_400_naming_the_field(gpus, researcher, fields, field, message):
    response = submit(researcher, **fields)
    assert response.status_code == 400, response.content
    assert response.json()["errors"][field] == [message]
    assert not Job.objects.exists()


def test_a_time_limit_over_the_teams_limit_is_refused(gpus, researcher, team_a):
    quota_set(team_a, max_booking_hours=8)
    response = submit(researcher, time_limit="PT9H")
    assert response.status_code == 400
    assert response.json()["errors"]["time_limit"] == [
        job_services.TIME_LIMIT_RANGE.format(minimum_s=settings.JOB_MIN_TIME_LIMIT, limit_h=8)
    ]


def test_a_request_larger_than_the_whole_monthly_quota_is_refused(gpus, researcher, team_a):
    quota_set(team_a, gpu_hours_per_month=10)
    response = submit(researcher, gpus=4, time_limit="PT3H")
    assert response.status_code == 400
    assert "12.0 GPU-hours" in response.json()["errors"]["time_limit"][0]


@pytest.mark.parametrize(
    ("time_limit", "seconds"),
    [("PT1H30M", 5400), ("1h30m", 5400), ("90m", 5400), ("1:30:00", 5400), (5400, 5400), ("5400", 5400)],
)
def test_the_time_limit_is_read_with_the_duration_grammar(gpus, researcher, time_limit, seconds):
    response = submit(researcher, time_limit=time_limit)
    assert response.status_code == 201, response.json()
    assert response.json()["time_limit"] == f"PT{seconds}S"


@pytest.mark.parametrize(
    ("time_limit", "message"),
    [
        ("soon", durations.NOT_A_DURATION.format(text="soon")),
        ("P1M", durations.NO_FIXED_LENGTH.format(text="P1M")),
        (True, TypedDurationField.default_error_messages["invalid"]),
        ({"hours": 4}, TypedDurationField.default_error_messages["invalid"]),
    ],
)
def test_a_malformed_time_limit_is_a_400_saying_what_to_write(gpus, researcher, time_limit, message):
    response = submit(researcher, time_limit=time_limit)
    assert response.status_code == 400
    assert response.json()["errors"] == {"time_limit": [message]}
    assert response.json()["detail"] == f"time_limit: {message}"
    assert not Job.objects.exists()


def test_someone_elses_booking_is_refused(gpus, researcher, outsider):
    theirs = booking(user=outsider, gpus=gpus[:2], start=hours_from_now(1), end=hours_from_now(5))
    response = submit(researcher, booking=theirs.pk)
    assert response.json()["errors"]["booking"] == [job_services.BOOKING_UNKNOWN]


def test_a_job_must_fit_inside_its_booking(gpus, researcher):
    mine = booking(user=researcher, gpus=gpus[:2], start=timezone.now() + timedelta(minutes=1), end=hours_from_now(2))
    too_long = submit(researcher, booking=mine.pk, time_limit="PT3H")
    assert too_long.json()["errors"]["booking"] == [job_services.BOOKING_TOO_SHORT]
    too_big = submit(researcher, booking=mine.pk, gpus=3)
    assert too_big.json()["errors"]["booking"] == [job_services.BOOKING_TOO_SMALL.format(held=2, gpus=3)]
    assert submit(researcher, booking=mine.pk, gpus=2).status_code == 201


def test_a_job_in_a_booking_over_two_nodes_fits_on_one_of_them_unless_it_may_span_nodes(gpus, researcher):
    """A job not allowed to span nodes is one process group on one node (issue 20 item 5): two GPUs on
    each of two nodes run a 2-GPU job, not a 4-GPU one, which would otherwise wait forever; a
    multi-node job runs one part per node (issue 25)."""
    split = booking(user=researcher, gpus=gpus[2:6], start=timezone.now() + timedelta(minutes=1), end=hours_from_now(2))
    response = submit(researcher, booking=split.pk, gpus=4)
    assert response.status_code == 400
    assert response.json()["errors"]["booking"] == [job_services.BOOKING_SPLIT_OVER_NODES.format(largest=2, gpus=4)]
    assert submit(researcher, booking=split.pk, gpus=2).status_code == 201
    assert submit(researcher, booking=split.pk, gpus=4, multi_node=True).status_code == 201


def test_a_multi_node_job_may_ask_for_more_gpus_than_one_node_has(gpus, researcher):
    assert submit(researcher, gpus=5, multi_node=True).status_code == 201


def test_a_job_names_its_booking_by_the_new_field_and_the_old_one(gpus, researcher):
    mine = booking(user=researcher, gpus=gpus[:2], start=timezone.now() + timedelta(minutes=1), end=hours_from_now(2))
    for field in ("booking", "reservation"):
        body = submit(researcher, **{field: mine.pk}).json()
        assert (body["booking"], body["reservation"]) == (mine.pk, mine.pk)
        assert Job.objects.get(pk=body["id"]).booking_id == mine.pk
    outside = submit(researcher).json()
    assert (outside["booking"], outside["reservation"]) == (None, None)


def test_someone_in_no_team_cannot_submit(gpus, admin):
    response = submit(admin)
    assert response.json()["errors"]["team"] == [job_services.NOT_A_RESEARCHER]


def test_cancel_of_a_pending_job_ends_it_and_a_second_cancel_is_a_400(gpus, researcher):
    job_id = submit(researcher).json()["id"]
    client = api_client_for(researcher)
    first = client.post(f"/api/v1/jobs/{job_id}/cancel/")
    assert first.status_code == 200 and first.json()["state"] == "cancelled"
    again = client.post(f"/api/v1/jobs/{job_id}/cancel/")
    assert again.status_code == 400
    assert again.json()["errors"]["state"] == [job_services.ALREADY_FINISHED.format(state="cancelled")]


def test_the_log_of_a_job_that_never_started_is_a_404(gpus, researcher):
    job_id = submit(researcher).json()["id"]
    response = api_client_for(researcher).get(f"/api/v1/jobs/{job_id}/log/")
    assert response.status_code == 404
    assert response.json()["detail"] == "This job has not started an attempt yet."
