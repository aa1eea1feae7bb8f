"""The submit form (/jobs/new/) reads the time limit with the same grammar as the API and the CLI."""

import pytest

from scheduler.durations import NOT_A_DURATION
from scheduler.models import Job
from tests.scheduler.factories import fleet

pytestmark = pytest.mark.django_db


def post_form(client, user, time_limit):
    fleet(nodes=1, per_node=2)
    client.force_login(user)
    return client.post("/jobs/new/", {"command": "python train.py", "gpus": "1", "time_limit": time_limit}, follow=True)


@pytest.mark.parametrize("time_limit", ["1h30m", "90m", "1.5h", "PT1H30M", "1:30:00", "5400"])
def test_it_reads_each_form_of_the_grammar(client, researcher, time_limit):
    post_form(client, researcher, time_limit)
    assert Job.objects.get().time_limit_s == 5400


def test_a_malformed_time_limit_keeps_the_form_and_says_what_to_write(client, researcher):
    page = post_form(client, researcher, "soon")
    assert not Job.objects.exists()
    assert f'<p class="error field-error" id="time_limit-error">{NOT_A_DURATION.format(text="soon")}</p>' in (
        page.content.decode().replace("&ldquo;", "“").replace("&rdquo;", "”")
    )
    assert "time_limit:" not in page.content.decode()  # in words beside the field, not a field name on top
    assert 'value="soon"' in page.content.decode()  # what the person typed stays in the field


def test_a_team_without_a_quota_row_submits_with_no_team_limits(client, outsider, team_b):
    """Such a team (made outside team_create) takes part with no limits (docs/decisions.md §5)."""
    from portal.teams.models import TeamQuota

    TeamQuota.objects.filter(team=team_b).delete()
    client.force_login(outsider)
    assert "no quota set: no team limits" in client.get("/jobs/new/").content.decode()
    post_form(client, outsider, "200h")  # beyond the week a default quota allows
    assert Job.objects.get().time_limit_s == 200 * 3600


def test_every_service_error_shows_beside_its_field_at_once(client, researcher):
    fleet(nodes=1, per_node=2)
    client.force_login(researcher)
    page = client.post(
        "/jobs/new/",
        {"command": "", "gpus": "9", "time_limit": "1h", "environment": "nowhere", "booking": "999"},
    ).content.decode()
    assert not Job.objects.exists()
    for field in ("command", "gpus", "environment", "booking"):
        assert f'id="{field}-error"' in page, field
    assert 'aria-describedby="command-error"' in page


def test_the_form_offers_the_fleets_models_and_the_teams_bookings(client, researcher):
    from tests.scheduler.factories import booking, hours_from_now

    gpus = fleet(nodes=1, per_node=2, model="H200")
    mine = booking(user=researcher, gpus=gpus[:1], start=hours_from_now(1), end=hours_from_now(3))
    client.force_login(researcher)
    page = client.get("/jobs/new/").content.decode()
    assert '<option value="H200"' in page
    assert f'<option value="{mine.pk}"' in page


def test_may_span_nodes_lets_a_job_larger_than_a_node_in_and_run_again_keeps_it(client, researcher):
    """Two nodes of 2 GPUs: a 3-GPU job is refused beside the GPUs field without the box (saying it may
    span nodes), and queued as a multi-node job with it; "Run again" opens the form with the box ticked."""
    fleet(nodes=2, per_node=2)
    client.force_login(researcher)
    form = {"command": "torchrun train.py", "gpus": "3", "time_limit": "1h"}
    refused = client.post("/jobs/new/", form).content.decode()
    assert not Job.objects.exists() and 'id="gpus-error"' in refused
    assert 'name="multi_node" aria-describedby="multi_node-help" >' in refused  # left unticked

    client.post("/jobs/new/", form | {"multi_node": "on"})
    job = Job.objects.get()
    assert (job.gpus, job.multi_node) == (3, True)
    again = client.get(f"/jobs/new/?from={job.pk}").content.decode()
    assert 'name="multi_node" aria-describedby="multi_node-help" checked' in again
