"""GET /api/v1/audit/ and /audit/: site admins read every entry, team admins their teams', others 404;
filters by actor, action, team and days; bad filters are a 400 naming the parameter."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import transaction
from django.test import Client

from portal.audit.models import AuditEntry
from portal.audit.services import audit_record
from tests.actors import api_client_for

pytestmark = pytest.mark.django_db

A = AuditEntry.Action


def record(*, actor, action, team=None, at: datetime, target="t"):
    with time_machine.travel(at, tick=False), transaction.atomic():
        return audit_record(actor=actor, action=action, team=team, target_type="x", target_id=1, target=target)


@pytest.fixture
def entries(admin, team_admin, team_a, team_b):
    return [
        record(actor=admin, action=A.GPU_DRAIN, at=datetime(2026, 3, 1, 10, tzinfo=UTC), target="site"),
        record(actor=admin, action=A.QUOTA_CHANGE, team=team_a, at=datetime(2026, 3, 2, 10, tzinfo=UTC), target="a"),
        record(actor=team_admin, action=A.BOOKING_CANCEL, team=team_a, at=datetime(2026, 3, 3, 23, tzinfo=UTC)),
        record(actor=admin, action=A.QUOTA_CHANGE, team=team_b, at=datetime(2026, 3, 4, 10, tzinfo=UTC), target="b"),
    ]


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def eid(entry) -> str:
    return f"entry-{entry.pk}"


def test_a_site_admin_reads_every_entry_newest_first(entries, admin):
    assert ids(api_client_for(admin).get("/api/v1/audit/")) == [eid(e) for e in reversed(entries)]


def test_a_team_admin_reads_their_teams_entries_only(entries, team_admin, team_b):
    client = api_client_for(team_admin)

    assert ids(client.get("/api/v1/audit/")) == [eid(entries[2]), eid(entries[1])]
    assert client.get(f"/api/v1/audit/?team={team_b.pk}").status_code == 404


@pytest.mark.parametrize("who", ["researcher", "outsider"])
def test_others_get_a_404(entries, who, request):
    user = request.getfixturevalue(who)
    assert api_client_for(user).get("/api/v1/audit/").status_code == 404
    client = Client()
    client.force_login(user)
    assert client.get("/audit/").status_code == 404


def test_it_filters_by_actor_action_team_and_days(entries, admin, team_a, settings):
    client = api_client_for(admin)

    assert ids(client.get("/api/v1/audit/?actor=lead")) == [eid(entries[2])]
    assert ids(client.get("/api/v1/audit/?action=quota_change")) == [eid(entries[3]), eid(entries[1])]
    assert ids(client.get(f"/api/v1/audit/?team={team_a.pk}")) == [eid(entries[2]), eid(entries[1])]
    assert ids(client.get("/api/v1/audit/?since=2026-03-02&until=2026-03-03")) == [eid(entries[2]), eid(entries[1])]
    settings.TIME_ZONE = "Europe/Berlin"  # 23:00 UTC on the 3rd is the 4th in Berlin: days are the site's
    assert ids(client.get("/api/v1/audit/?since=2026-03-02&until=2026-03-03")) == [eid(entries[1])]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("action=drop_table", "action"),
        ("actor=nobody", "actor"),
        ("team=abc", "team"),
        ("since=yesterday", "since"),
        ("since=1999-12-31", "since"),
        ("since=2026-03-05&until=2026-03-01", "until"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(entries, admin, query, field):
    response = api_client_for(admin).get(f"/api/v1/audit/?{query}")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_the_page_shows_the_filtered_entries(entries, admin):
    client = Client()
    client.force_login(admin)

    page = client.get("/audit/?action=quota_change").content.decode()

    assert page.count("Quota changed</td>") == 2 and "GPU drained</td>" not in page
    assert client.get("/audit/?since=nope").status_code == 400


def test_it_pages_across_both_sources(entries, admin):
    client = api_client_for(admin)

    first = client.get("/api/v1/audit/?page_size=3").json()
    second = client.get(first["next"]).json()

    assert first["count"] == 4
    assert [r["id"] for r in first["results"] + second["results"]] == [eid(e) for e in reversed(entries)]
