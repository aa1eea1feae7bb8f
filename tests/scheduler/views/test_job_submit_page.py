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
    assert [str(m) for m in page.context["messages"]] == [f"time_limit: {NOT_A_DURATION.format(text='soon')}"]
    assert 'value="soon"' in page.content.decode()  # what the person typed stays in the field


def test_a_team_without_a_quota_row_submits_with_no_team_limits(client, outsider, team_b):
    """Such a team (made outside team_create) takes part with no limits (docs/decisions.md §5)."""
    from portal.teams.models import TeamQuota

    TeamQuota.objects.filter(team=team_b).delete()
    client.force_login(outsider)
    assert "no quota set: no team limits" in client.get("/jobs/new/").content.decode()
    post_form(client, outsider, "200h")  # beyond the week a default quota allows
    assert Job.objects.get().time_limit_s == 200 * 3600
