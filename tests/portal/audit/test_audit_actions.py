"""The audit log has a row for each administrative action, written through the action's real API or
service, in the same transaction (docs/reports.md "Audit log")."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import ApiToken
from portal.accounts.services import api_token_create
from portal.audit.models import AuditEntry
from portal.audit.services import NOT_IN_TRANSACTION, audit_record
from portal.teams.models import Membership
from tests.actors import api_client_for
from tests.scheduler.factories import booking, fleet, hours_from_now

pytestmark = pytest.mark.django_db

A = AuditEntry.Action


def only_entry(**filters) -> AuditEntry:
    entries = list(AuditEntry.objects.filter(**filters))
    assert len(entries) == 1, entries
    return entries[0]


def test_a_gpu_drain_and_undrain_are_audited(admin):
    gpu = fleet(nodes=1, per_node=1)[0]
    client = api_client_for(admin)

    assert client.post(f"/api/v1/gpus/{gpu.pk}/drain/", {"reason": "fan"}, format="json").status_code == 200
    assert client.post(f"/api/v1/gpus/{gpu.pk}/undrain/").status_code == 200

    drained, undrained = only_entry(action=A.GPU_DRAIN), only_entry(action=A.GPU_UNDRAIN)
    assert (drained.actor_id, drained.actor_name, drained.target_type, drained.target_id) == (
        admin.pk,
        "admin",
        "gpu",
        str(gpu.pk),
    )
    assert drained.before == {"state": "available", "drain_reason": ""}
    assert drained.after == {"state": "drained", "drain_reason": "fan"}
    assert undrained.before == drained.after and undrained.after == drained.before


def test_a_node_drain_and_undrain_are_audited(admin):
    node = fleet(nodes=1, per_node=2)[0].node
    client = api_client_for(admin)

    body = {"reason": "kernel update", "stop_running_jobs": True}
    assert client.post(f"/api/v1/nodes/{node.pk}/drain/", body, format="json").status_code == 200
    assert client.post(f"/api/v1/nodes/{node.pk}/undrain/").status_code == 200

    drained = only_entry(action=A.NODE_DRAIN)
    assert drained.target == node.name and drained.team_id is None
    assert drained.before == {"drained": False, "drain_reason": ""}
    assert drained.after == {"drained": True, "drain_reason": "kernel update", "stop_running_jobs": True}
    assert only_entry(action=A.NODE_UNDRAIN).after == {"drained": False, "drain_reason": ""}


def test_a_quota_change_is_audited_with_the_fields_that_changed(admin, team_a):
    response = api_client_for(admin).patch(
        f"/api/v1/teams/{team_a.pk}/quota/", {"max_concurrent_gpus": 9, "guaranteed_gpus": 4}, format="json"
    )

    assert response.status_code == 200
    entry = only_entry(action=A.QUOTA_CHANGE)
    assert (entry.actor_id, entry.team_id, entry.team_name) == (admin.pk, team_a.pk, "Team A")
    assert entry.before == {"max_concurrent_gpus": 16} and entry.after == {"max_concurrent_gpus": 9}


def test_a_refused_quota_change_leaves_no_entry(admin, team_a):
    response = api_client_for(admin).patch(
        f"/api/v1/teams/{team_a.pk}/quota/", {"max_concurrent_gpus": -1}, format="json"
    )

    assert response.status_code == 400
    assert not AuditEntry.objects.exists()


def test_a_role_change_in_the_admin_is_audited(admin, researcher, team_a):
    membership = Membership.objects.get(user=researcher, team=team_a)
    client = Client()
    client.force_login(admin)

    response = client.post(
        reverse("admin:teams_membership_change", args=[membership.pk]),
        {"user": researcher.pk, "team": team_a.pk, "is_researcher": "on", "is_team_admin": "on"},
    )

    assert response.status_code == 302, response.content[:2000]
    entry = only_entry(action=A.MEMBERSHIP_CHANGE)
    assert entry.before == {"roles": ["researcher"]}
    assert entry.after == {"roles": ["researcher", "team_admin"]}
    assert (entry.actor_name, entry.target) == ("admin", "researcher in Team A")


def test_removing_a_member_in_the_admin_is_audited(admin, researcher, team_a):
    membership = Membership.objects.get(user=researcher, team=team_a)
    client = Client()
    client.force_login(admin)

    response = client.post(reverse("admin:teams_membership_delete", args=[membership.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    entry = only_entry(action=A.MEMBERSHIP_REMOVE)
    assert entry.before == {"roles": ["researcher"]} and entry.after is None


def test_a_token_revoked_by_a_site_admin_is_audited_and_by_its_owner_is_not(admin, researcher):
    theirs, _ = api_token_create(user=researcher, name="laptop", expires_in_days=30)
    own, _ = api_token_create(user=researcher, name="ci", expires_in_days=30)
    client = Client()
    client.force_login(admin)

    response = client.post(reverse("admin:accounts_apitoken_delete", args=[theirs.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert api_client_for(researcher).delete(f"/api/v1/tokens/{own.token_key}/").status_code == 204

    assert not ApiToken.objects.exists()
    entry = only_entry(action=A.TOKEN_REVOKE)
    assert (entry.actor_name, entry.target_id) == ("admin", theirs.token_key)
    assert entry.before["owner"] == "researcher" and entry.before["name"] == "laptop"


def test_a_booking_changed_by_the_team_admin_is_audited_and_by_its_owner_is_not(researcher, team_admin):
    gpus = fleet(nodes=1, per_node=1)
    mine = booking(user=researcher, gpus=gpus, start=hours_from_now(2), end=hours_from_now(4))
    longer, end = mine.start + timedelta(hours=3), mine.start + timedelta(hours=1)

    by_owner = api_client_for(researcher).patch(
        f"/api/v1/bookings/{mine.pk}/", {"start": mine.start.isoformat(), "end": longer.isoformat()}, format="json"
    )
    by_lead = api_client_for(team_admin).patch(
        f"/api/v1/bookings/{mine.pk}/", {"start": mine.start.isoformat(), "end": end.isoformat()}, format="json"
    )

    assert (by_owner.status_code, by_lead.status_code) == (200, 200)
    entry = only_entry(action=A.BOOKING_CHANGE)
    assert (entry.actor_name, entry.team_id, entry.target_id) == ("lead", mine.team_id, str(mine.pk))
    assert entry.before["state"] == entry.after["state"] == "active"
    assert datetime.fromisoformat(entry.before["start"]) == mine.start == datetime.fromisoformat(entry.after["start"])
    assert datetime.fromisoformat(entry.before["end"]) == longer
    assert datetime.fromisoformat(entry.after["end"]) == end


def test_a_booking_cancelled_by_a_site_admin_is_audited(researcher, admin):
    gpus = fleet(nodes=1, per_node=1)
    theirs = booking(user=researcher, gpus=gpus, start=hours_from_now(2), end=hours_from_now(4))

    assert api_client_for(admin).delete(f"/api/v1/bookings/{theirs.pk}/").status_code == 200

    entry = only_entry(action=A.BOOKING_CANCEL)
    assert entry.before["state"] == "active" and entry.after["state"] == "cancelled"
    assert entry.target == f"booking {theirs.pk} of researcher"


def test_a_booking_cancelled_by_its_owner_is_not_audited(researcher):
    gpus = fleet(nodes=1, per_node=1)
    mine = booking(user=researcher, gpus=gpus, start=hours_from_now(2), end=hours_from_now(4))

    assert api_client_for(researcher).delete(f"/api/v1/bookings/{mine.pk}/").status_code == 200

    assert not AuditEntry.objects.exists()


def test_an_idle_booking_released_by_the_system_is_audited_without_an_actor(researcher):
    from scheduler.services.bookings import booking_release_rest

    gpus = fleet(nodes=1, per_node=1)
    start = hours_from_now(-1)
    with time_machine.travel(start - timedelta(minutes=5), tick=False):
        theirs = booking(user=researcher, gpus=gpus, start=start, end=start + timedelta(hours=4))
    now = start + timedelta(hours=1)

    booking_release_rest(booking=theirs, now=now)

    entry = only_entry(action=A.BOOKING_CHANGE)
    assert (entry.actor_id, entry.actor_name) == (None, "")
    assert datetime.fromisoformat(entry.after["end"]) == now


def test_a_rolled_back_action_leaves_no_entry(admin):
    gpu = fleet(nodes=1, per_node=1)[0]
    from scheduler.services.drain import gpu_drain

    with pytest.raises(RuntimeError), transaction.atomic():
        gpu_drain(gpu=gpu, by=admin, reason="fan")
        raise RuntimeError("the request failed after the drain")

    assert not AuditEntry.objects.exists()
    gpu.refresh_from_db()
    assert gpu.state == "available"


def test_an_action_whose_entry_cannot_be_written_does_not_happen(admin, monkeypatch):
    import scheduler.services.drain as drain

    gpu = fleet(nodes=1, per_node=1)[0]

    def unwritable(**kwargs):
        raise RuntimeError("the audit table is unwritable")

    monkeypatch.setattr(drain, "audit_record", unwritable)
    with pytest.raises(RuntimeError):
        drain.gpu_drain(gpu=gpu, by=admin, reason="fan")

    gpu.refresh_from_db()
    assert (gpu.state, gpu.drain_reason) == ("available", "")


def test_an_entry_is_written_only_inside_a_transaction(admin, transactional_db):
    with pytest.raises(RuntimeError) as refused:
        audit_record(actor=admin, action=A.GPU_DRAIN, target_type="gpu", target_id=1, target="g")
    assert str(refused.value) == NOT_IN_TRANSACTION
    assert not AuditEntry.objects.exists()


def test_an_entry_keeps_its_instant(admin):
    before = timezone.now()
    with transaction.atomic():
        entry = audit_record(actor=admin, action=A.GPU_DRAIN, target_type="gpu", target_id=1, target="g")
    assert before <= entry.at <= before + timedelta(seconds=5)
