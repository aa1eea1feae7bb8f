"""/reports/<name>/ and GET /api/v1/reports/<name>/ (issue 24): queue waits, job outcomes and idle
bookings for a range and scope, the page's table, its CSV and the API the same rows; bad input 400
naming the parameter; a team admin asking about another team 404.

The site zone is Europe/Berlin here: October 2026 holds the autumn change (the 25th has 25 h) and
its last hour in Berlin is 22:00–23:00 UTC, so a job starting at 23:30 UTC on the 31st is November's.
"""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db.models import Q
from django.test import Client, override_settings

from scheduler.models import Attempt, BookingIdlePeriod, Job
from scheduler.selectors.reports import JobScope, idle_totals
from tests.actors import api_client_for
from tests.scheduler.factories import NodeFactory, booking, fleet, quota_set

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("berlin")]

NOW = datetime(2026, 11, 20, 15, tzinfo=UTC)
OCTOBER = "?range=month&month=2026-10"


@pytest.fixture
def berlin():
    with override_settings(TIME_ZONE="Europe/Berlin"):
        yield


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def job(owner, team, *, gpus, submitted, wait_s, attempts, node):
    """A job submitted at `submitted`, started wait_s later; attempts: (state, ended after start (s), gpu_seconds)."""
    started = submitted + timedelta(seconds=wait_s)
    row = Job.objects.create(
        owner=owner, team=team, name="train", command="true", working_dir="/tmp", gpus=gpus, time_limit_s=36000
    )
    Job.objects.filter(pk=row.pk).update(submitted_at=submitted, started_at=started)
    for number, (state, ended_after, gpu_seconds) in enumerate(attempts, start=1):
        Attempt.objects.create(
            job=row,
            number=number,
            node=node,
            state=state,
            started_at=started,
            ended_at=started + timedelta(seconds=ended_after),
            gpu_seconds=gpu_seconds,
        )
    return row


@pytest.fixture
def activity(researcher, team_admin, outsider, team_a, team_b):
    node, other_node = NodeFactory(name="node-a"), NodeFactory(name="node-b")
    job(researcher, team_a, gpus=1, submitted=utc(2026, 10, 5, 10), wait_s=600, node=node,
        attempts=[("succeeded", 3600, 3600)])  # fmt: skip
    job(researcher, team_a, gpus=2, submitted=utc(2026, 10, 25, 0, 30), wait_s=7200, node=node,
        attempts=[("lost", 3600, 7200), ("failed", 5400, 1800)])  # fmt: skip
    job(team_admin, team_a, gpus=1, submitted=utc(2026, 10, 31, 22), wait_s=1800, node=other_node,
        attempts=[("timed_out", 1200, 1200)])  # fmt: skip
    # Starts 2026-11-01 00:30 in Berlin: November's, though October's in UTC.
    job(team_admin, team_a, gpus=1, submitted=utc(2026, 10, 31, 23), wait_s=1800, node=node,
        attempts=[("succeeded", 3600, 3600)])  # fmt: skip
    job(outsider, team_b, gpus=1, submitted=utc(2026, 10, 10, 8), wait_s=300, node=node,
        attempts=[("succeeded", 3600, 3600)])  # fmt: skip
    return {"node": node, "other_node": other_node}


@pytest.fixture
def idle(researcher, team_admin, team_a):
    gpus = fleet(nodes=1, per_node=4)
    with time_machine.travel(utc(2026, 10, 20), tick=False):
        # Across the autumn change: idle 00:00–03:00 UTC on the 25th on 2 GPUs = 6 GPU-h.
        across = booking(user=researcher, gpus=gpus[:2], start=utc(2026, 10, 24, 20), end=utc(2026, 10, 25, 8))
    with time_machine.travel(utc(2026, 11, 15), tick=False):
        # Idle from 12:00 and still idle: at 15:00 only 3 h have passed; the rest is reserved, not idle.
        running = booking(user=team_admin, gpus=gpus[2:3], start=utc(2026, 11, 20, 10), end=utc(2026, 11, 20, 20))
    BookingIdlePeriod.objects.create(booking=across, start=utc(2026, 10, 25), end=utc(2026, 10, 25, 3),
                                     flagged_at=utc(2026, 10, 25, 1))  # fmt: skip
    BookingIdlePeriod.objects.create(booking=running, start=utc(2026, 11, 20, 12), flagged_at=utc(2026, 11, 20, 13))
    return {"across": across, "running": running}


def api(user, name, query):
    response = api_client_for(user).get(f"/api/v1/reports/{name}/{query}")
    return response


def rows(user, name, query=OCTOBER):
    response = api(user, name, query)
    assert response.status_code == 200, response.content
    return [tuple(row.values()) for row in response.json()["rows"]]


def test_queue_waits_per_team_and_gpu_count_in_the_site_zone(activity, admin):
    assert rows(admin, "waits") == [
        # team, gpus, jobs, p50 s, p95 s, % waited over 1 h
        ("Team A", "all", 3, 1800, 7200, 33.3),
        ("Team A", 1, 2, 600, 1800, 0.0),
        ("Team A", 2, 1, 7200, 7200, 100.0),
        ("Team B", "all", 1, 300, 300, 0.0),
        ("Team B", 1, 1, 300, 300, 0.0),
    ]
    with override_settings(TIME_ZONE="UTC"):  # the same range in UTC takes the 31st's 23:30 start
        assert rows(admin, "waits")[0] == ("Team A", "all", 4, 1800, 7200, 25.0)


def test_job_outcomes_and_gpu_hours_lost_to_failures(activity, admin):
    assert rows(admin, "outcomes") == [
        # team, succeeded, failed, cancelled, timed out, lost, GPU-h used, GPU-h lost
        ("Team A", 1, 1, 0, 1, 1, 3.83, 2.83),
        ("Team B", 1, 0, 0, 0, 0, 1.0, 0.0),
    ]


def test_scopes_narrow_the_rows(activity, admin, researcher, team_a):
    node, other = activity["node"], activity["other_node"]
    assert rows(admin, "outcomes", f"{OCTOBER}&scope=node&of={other.pk}") == [("Team A", 0, 0, 0, 1, 0, 0.33, 0.33)]
    assert rows(admin, "outcomes", f"{OCTOBER}&scope=team&of={team_a.pk}")[0][0] == "Team A"
    assert len(rows(admin, "outcomes", f"{OCTOBER}&scope=team&of={team_a.pk}")) == 1
    assert rows(admin, "waits", f"{OCTOBER}&scope=user&of={researcher.pk}")[0] == ("Team A", "all", 2, 600, 7200, 50.0)
    assert rows(admin, "waits", f"{OCTOBER}&scope=gpu_model&of=H100") == []
    assert rows(admin, "outcomes", f"?range=day&date=2026-10-25&scope=node&of={node.pk}") == [
        ("Team A", 0, 1, 0, 0, 1, 2.5, 2.5)
    ]
    assert rows(admin, "waits", "?range=week&date=2026-10-07") == [  # Monday 5th to Sunday 11th
        ("Team A", "all", 1, 600, 600, 0.0),
        ("Team A", 1, 1, 600, 600, 0.0),
        ("Team B", "all", 1, 300, 300, 0.0),
        ("Team B", 1, 1, 300, 300, 0.0),
    ]


def test_team_admins_read_their_team_only(activity, team_admin, team_b, researcher, outsider):
    assert [r[0] for r in rows(team_admin, "outcomes")] == ["Team A"]
    assert api(team_admin, "outcomes", f"{OCTOBER}&scope=team&of={team_b.pk}").status_code == 404
    assert api(team_admin, "waits", f"{OCTOBER}&scope=user&of={outsider.pk}").status_code == 404
    assert api(researcher, "waits", OCTOBER).status_code == 404
    assert page_client(researcher).get(f"/reports/waits/{OCTOBER}").status_code == 404
    assert page_client(team_admin).get("/reports/nonsense/").status_code == 404
    page = page_client(team_admin).get(f"/reports/waits/{OCTOBER}&scope=team&of={team_b.pk}")
    assert page.status_code == 404


def test_idle_hours_count_only_the_past_and_cross_the_autumn_change(idle, admin, team_admin):
    found = idle_totals(lo=utc(2026, 10, 1), hi=utc(2026, 12, 1), scope=JobScope(), now=NOW)
    assert [(r.booking_id, r.idle_hours) for r in found] == [(idle["across"].pk, 6.0), (idle["running"].pk, 3.0)]
    with time_machine.travel(NOW, tick=False):
        assert rows(admin, "idle", "?range=custom&start=2026-10-01&end=2026-11-30") == [
            (idle["across"].pk, "Team A", "researcher", "2026-10-24T20:00:00+00:00", "2026-10-25T08:00:00+00:00", 6.0),
            (idle["running"].pk, "Team A", "lead", "2026-11-20T10:00:00+00:00", "2026-11-20T20:00:00+00:00", 3.0),
        ]
        assert rows(team_admin, "idle-owners", "?range=custom&start=2026-10-01&end=2026-11-30") == [
            ("Team A", "(team total)", 9.0),
            ("Team A", "lead", 3.0),
            ("Team A", "researcher", 6.0),
        ]
        page = page_client(admin).get("/reports/idle/?range=month&month=2026-11")
        assert page.status_code == 200
        html = page.content.decode()
        assert f"/bookings/{idle['running'].pk}/release/" in html  # still running: release and shorten offered
        assert "<td>2026-11-20 11:00</td><td>2026-11-20 21:00</td>" in html  # 10:00–20:00 UTC, in Berlin
        assert f"/bookings/{idle['running'].pk}/end/" in html
        assert f"/bookings/{idle['across'].pk}/release/" not in html


def test_the_page_and_the_api_list_the_worst_idle_bookings_and_the_csv_all_of_them(idle, admin, monkeypatch):
    """At a site's scale a month has tens of thousands of idle bookings: the page and the API list the
    worst (the API's ?limit=, default 100), say how many there are, and the CSV has every one."""
    from portal.reports import activity

    query = "?range=custom&start=2026-10-01&end=2026-11-30"
    with time_machine.travel(NOW, tick=False):
        answer = api(admin, "idle", query + "&limit=1").json()
        assert [row["booking"] for row in answer["rows"]] == [idle["across"].pk] and answer["rows_total"] == 2
        assert api(admin, "idle", query).json()["rows_total"] == 2
        for bad in ("0", "x", "100001"):
            assert "limit" in api(admin, "idle", query + f"&limit={bad}").json()["errors"]
        monkeypatch.setattr(activity, "IDLE_SHOWN", 1)
        html = page_client(admin).get(f"/reports/idle/{query}").content.decode()
        assert (
            "The worst 1 of 2; the CSV lists all 2." in html and f"/bookings/{idle['running'].pk}/release/" not in html
        )
        every = csv_of(admin, f"/reports/idle/{query}&format=csv")
        assert [row[0] for row in every[1:]] == [str(idle["across"].pk), str(idle["running"].pk)]
        owners = csv_of(admin, f"/reports/idle/{query}&table=idle-owners&format=csv")
        assert owners[1] == ["Team A", "(team total)", "9.0"]  # folded from every booking, not the shown one


def page_client(user):
    client = Client()
    client.force_login(user)
    return client


def csv_of(user, path):
    response = page_client(user).get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_each_csv_holds_the_rows_of_its_table(activity, idle, admin):
    assert csv_of(admin, f"/reports/outcomes/{OCTOBER}&format=csv") == [
        ["team", "succeeded", "failed", "cancelled", "timed_out", "lost", "gpu_hours", "gpu_hours_lost"],
        ["Team A", "1", "1", "0", "1", "1", "3.83", "2.83"],
        ["Team B", "1", "0", "0", "0", "0", "1.0", "0.0"],
    ]
    assert csv_of(admin, f"/reports/waits/{OCTOBER}&format=csv")[1] == ["Team A", "all", "3", "1800", "7200", "33.3"]
    with time_machine.travel(NOW, tick=False):
        assert csv_of(admin, f"/reports/idle/{OCTOBER}&table=idle-owners&format=csv") == [
            ["team", "user", "idle_gpu_hours"],
            ["Team A", "(team total)", "6.0"],
            ["Team A", "researcher", "6.0"],
        ]
    page = page_client(admin).get(f"/reports/waits/{OCTOBER}").content.decode()
    assert "<td>0:30</td><td>2:00</td><td>33.3 %</td>" in page  # p50, p95 as h:mm


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("?range=custom&start=2024-01-01&end=2026-01-02", "end"),  # over 2 years
        ("?range=custom&start=2026-10-02&end=2026-10-01", "end"),  # end before start
        ("?range=custom&start=2026-10-02", "end"),
        ("?scope=galaxy", "scope"),
        ("?scope=team", "of"),
        ("?scope=node&of=abc", "of"),
        ("?range=month&month=1999-12", "month"),
        ("?range=month&month=2101-01", "month"),
        ("?range=month&month=2026-13", "month"),
        ("?range=day&date=2101-01-01", "date"),
        ("?range=fortnight", "range"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(admin, query, parameter):
    response = api(admin, "waits", query)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [parameter]
    page = page_client(admin).get(f"/reports/outcomes/{query}")
    assert page.status_code == 400
    assert f"{parameter}:" in page.content.decode()


def test_a_two_year_range_is_allowed(admin):
    assert api(admin, "waits", "?range=custom&start=2024-01-01&end=2025-12-31").status_code == 200


def test_quota_burn_down_projects_the_pace_and_counts_the_guaranteed_share(idle, admin, team_a):
    quota_set(team_a, gpu_hours_per_month=100, guaranteed_gpus=1)
    with time_machine.travel(NOW, tick=False):
        # October in Berlin has 745 h (the autumn change); the booking's 12 h on 2 GPUs all passed.
        assert rows(admin, "burn", OCTOBER) == [("Team A", 100.0, 24.0, 24.0, 24.0, 24.0, 745.0, 3.2)]
        # November: 5 of the booking's 10 GPU-h passed at 15:00 on the 20th, 472 h into a 720 h month;
        # the pace (7.63 GPU-h) is under what is booked, so the projection is the booked 10.
        assert rows(admin, "burn", "?range=week&date=2026-11-20") == [
            ("Team A", 100.0, 5.0, 10.0, 10.0, 10.0, 720.0, 1.1)
        ]


@pytest.fixture
def labeling_activity(researcher, annotator, reviewer, team_admin):
    from labeling.models import Review, Task
    from labeling.services.datasets import dataset_create
    from tests.labeling.builders import box, make_item, make_task

    dataset = dataset_create(user=researcher, team_id=researcher.memberships.first().team_id, name="Strips")
    same = [box("a", "face", 0, 0, 10, 10)]

    def handed_in(item, person, at, seconds, index=0):
        task = make_task(item, assignee=person, status="submitted", shapes=same, overlap_index=index)
        Task.objects.filter(pk=task.pk).update(submitted_at=at, focused_seconds=seconds)
        return task

    def review(task, decision, at):
        row = Review.objects.create(task=task, reviewer=reviewer, decision=decision, document_version=1)
        Review.objects.filter(pk=row.pk).update(created_at=at)

    first, second, third = (make_item(dataset, name=n) for n in ("p1", "p2", "p3"))
    t1 = handed_in(first, annotator, utc(2026, 10, 24, 22, 30), 300)  # 00:30 CEST on the 25th
    t2 = handed_in(first, researcher, utc(2026, 10, 25, 23, 30), 600, index=1)  # 00:30 CET on the 26th
    t3 = handed_in(second, annotator, utc(2026, 10, 25, 12), 500)
    handed_in(third, annotator, utc(2026, 10, 31, 23, 30), 900)  # 00:30 on 1 November in Berlin
    review(t1, "accept", utc(2026, 10, 25, 10))
    review(t3, "reject", utc(2026, 10, 25, 13))
    review(t2, "accept", utc(2026, 10, 26, 9))
    return dataset


def test_labeling_per_local_day_and_person_and_agreement(labeling_activity, admin, team_admin, reviewer):
    expected = [
        # day, person, items labelled, seconds per item, reviews, rejected, rejection rate %
        ("2026-10-25", "annotator", 2, 400, 0, 0, 0.0),
        ("2026-10-25", "reviewer", 0, 0, 2, 1, 50.0),
        ("2026-10-26", "researcher", 1, 600, 0, 0, 0.0),
        ("2026-10-26", "reviewer", 0, 0, 1, 0, 0.0),
    ]
    assert rows(admin, "labeling") == expected
    # Over 92 days the database truncates to the local date instead of comparing with each day's edges.
    assert rows(admin, "labeling", "?range=custom&start=2026-07-01&end=2026-10-31") == expected
    assert rows(team_admin, "labeling", f"{OCTOBER}&scope=user&of={reviewer.pk}") == [expected[1], expected[3]]
    assert rows(admin, "agreement") == [("Strips", 1, 1, 1.0, "")]
    assert rows(admin, "labeling", "?range=month&month=2026-11") == [("2026-11-01", "annotator", 1, 900, 0, 0, 0.0)]
    assert csv_of(admin, f"/reports/labeling/{OCTOBER}&format=csv")[1:3] == [
        ["2026-10-25", "annotator", "2", "400", "0", "0", "0.0"],
        ["2026-10-25", "reviewer", "0", "0", "2", "1", "50.0"],
    ]
    page = page_client(admin).get(f"/reports/labeling/{OCTOBER}").content.decode()
    assert "<td>2026-10-25</td><td>annotator</td><td>2</td><td>0:07</td>" in page


def test_gpu_time_split_per_local_hour_across_the_autumn_change(idle, admin):
    with time_machine.travel(NOW, tick=False):
        body = api(admin, "split", "?range=day&date=2026-10-25").json()
        page = page_client(admin).get("/reports/split/?range=day&date=2026-10-25").content.decode()
    steps, total = body["rows"][:-1], body["rows"][-1]
    assert len(steps) == 25  # the Berlin day of the change has 25 hours
    assert steps[0]["start"] == "2026-10-25T00:00:00+02:00"
    assert steps[-1]["start"] == "2026-10-25T23:00:00+01:00"
    # 4 GPUs × 25 h; the booking holds 2 GPUs 22:00–08:00 UTC, idle 00:00–03:00 UTC.
    assert total == {
        "start": "total",
        "jobs_gpu_hours": 0.0,
        "booked_used_gpu_hours": 14.0,
        "booked_idle_gpu_hours": 6.0,
        "drained_gpu_hours": 0.0,
        "free_gpu_hours": 80.0,
        "capacity_gpu_hours": 100.0,
    }
    assert steps[2] == {  # 00:00–01:00 UTC: booked on 2 GPUs, both idle
        "start": "2026-10-25T02:00:00+02:00",
        "jobs_gpu_hours": 0.0,
        "booked_used_gpu_hours": 0.0,
        "booked_idle_gpu_hours": 2.0,
        "drained_gpu_hours": 0.0,
        "free_gpu_hours": 2.0,
        "capacity_gpu_hours": 4.0,
    }
    assert 'id="chart-data-split"' in page and "uPlot.iife.min.js" in page


def test_the_index_links_every_report(admin):
    html = page_client(admin).get("/reports/").content.decode()
    for name in ("split", "burn", "idle", "waits", "outcomes", "labeling", "quotas"):
        assert f'href="/reports/{name}/"' in html


def test_the_index_says_whose_figures_a_reader_sees_and_what_each_report_answers(admin, team_admin, team_b):
    from tests.factories import MembershipFactory

    MembershipFactory(team=team_b, user=team_admin, is_researcher=True)  # a member of B, not its admin
    lead_page = page_client(team_admin).get("/reports/").content.decode()
    assert "You read the figures of the team you lead: Team A." in lead_page
    assert "Team B" not in lead_page
    assert "Idle bookings</a>: booked GPUs that sat unused" in lead_page
    assert "You read every team's figures." in page_client(admin).get("/reports/").content.decode()


def test_the_index_tells_a_member_who_leads_no_team_whom_to_ask(researcher):
    assert "Ask your team admin" in page_client(researcher).get("/reports/").content.decode()


def test_a_scope_narrows_only_the_dimensions_a_caller_names_a_field_for():
    scope = JobScope(team_ids=(1, 2), user_id=3, node_id=4, gpu_model="A100-80GB")
    assert scope.where(team="team_id", model="gpu__model") == Q(team_id__in=(1, 2)) & Q(gpu__model="A100-80GB")
    assert scope.where(user="owner_id", node="node_id") == Q(owner_id=3) & Q(node_id=4)
    assert JobScope().where(team="team_id", user="user_id", node="node_id", model="model") == Q()
