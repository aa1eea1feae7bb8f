"""Model alias moves appear in the audit log, read from the registry's own alias history (never written
twice): docs/reports.md "Audit log"."""

import pytest

from portal.audit.models import AuditEntry
from tests.actors import api_client_for
from tests.training.services.test_registry import register
from training.models import AliasMove
from training.services import registry

pytestmark = pytest.mark.django_db


def test_an_alias_move_is_in_the_audit_log_from_the_registry_history(researcher, team_admin, admin, model, trained_job):
    for _ in range(2):
        register(researcher, model, trained_job)

    registry.alias_move(user=team_admin, model=model, alias="production", number=1)
    registry.alias_move(user=team_admin, model=model, alias="production", number=2)

    rows = api_client_for(admin).get("/api/v1/audit/?action=alias_move").json()["results"]
    moves = list(AliasMove.objects.order_by("-moved_at", "-id"))
    assert [r["id"] for r in rows] == [f"alias-{m.pk}" for m in moves]
    assert [(r["actor"], r["before"], r["after"]) for r in rows] == [
        ("lead", {"version": 1}, {"version": 2}),
        ("lead", {"version": None}, {"version": 1}),
    ]
    assert rows[0]["target"] == f"{model.name}@production" and rows[0]["team_id"] == model.team_id
    assert not AuditEntry.objects.exists()  # not written twice
    assert [r["id"] for r in api_client_for(team_admin).get("/api/v1/audit/").json()["results"]] == [
        r["id"] for r in rows
    ]
