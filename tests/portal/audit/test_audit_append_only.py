"""No API, admin or ORM path edits or deletes an audit entry (docs/reports.md "Audit log")."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test import Client
from django.urls import reverse

from portal.audit.models import APPEND_ONLY, AuditEntry, AuditImmutable
from portal.audit.services import audit_record
from tests.actors import api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(admin, team_a):
    with transaction.atomic():
        return audit_record(
            actor=admin,
            action=AuditEntry.Action.QUOTA_CHANGE,
            team=team_a,
            target_type="team_quota",
            target_id=1,
            target="quota of Team A",
            before={"guaranteed_gpus": 4},
            after={"guaranteed_gpus": 8},
        )


def unchanged(entry) -> bool:
    stored = AuditEntry.objects.get(pk=entry.pk)
    return (stored.target, stored.before, stored.after) == (
        "quota of Team A",
        {"guaranteed_gpus": 4},
        {"guaranteed_gpus": 8},
    )


def test_save_refuses_an_update(entry):
    entry.target = "something else"
    with pytest.raises(AuditImmutable) as refused:
        entry.save()
    assert str(refused.value) == APPEND_ONLY
    assert unchanged(entry)


def test_delete_refuses(entry):
    with pytest.raises(AuditImmutable):
        entry.delete()
    assert unchanged(entry)


def test_the_manager_refuses_update_and_delete(entry):
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.filter(pk=entry.pk).update(target="x")
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.all().delete()
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.bulk_update([entry], ["target"])
    assert unchanged(entry)


@pytest.mark.parametrize("method", ["put", "patch", "delete", "post"])
def test_the_api_changes_nothing(entry, admin, method):
    client = api_client_for(admin)

    response = getattr(client, method)("/api/v1/audit/", {"target": "x"}, format="json")
    by_id = getattr(client, method)(f"/api/v1/audit/{entry.pk}/", {"target": "x"}, format="json")

    assert response.status_code == 405 and by_id.status_code == 404
    assert unchanged(entry)


def test_the_admin_is_read_only(entry, admin):
    client = Client()
    client.force_login(admin)

    change = client.post(reverse("admin:audit_auditentry_change", args=[entry.pk]), {"target": "x"})
    delete = client.post(reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"})
    bulk = client.post(
        reverse("admin:audit_auditentry_changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )

    assert change.status_code == 403 and delete.status_code == 403
    assert bulk.status_code in (200, 302)  # no delete action offered: nothing happens
    assert client.get(reverse("admin:audit_auditentry_changelist")).status_code == 200
    assert unchanged(entry)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_on_postgresql_a_trigger_refuses_raw_sql(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET target = 'x' WHERE id = %s", [entry.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])
    assert unchanged(entry)
