"""A token's `last used` stamp is bookkeeping: when it cannot be written (a full disk, a read-only
database) the request is still answered (every token call was a 500 on a full disk)."""

import pytest
from django.db import OperationalError
from django.db.models.query import QuerySet
from rest_framework.test import APIClient

from portal.accounts.models import ApiToken
from portal.accounts.services import api_token_create

pytestmark = pytest.mark.django_db


def test_a_token_call_is_answered_when_its_last_used_stamp_cannot_be_written(researcher, monkeypatch):
    _, key = api_token_create(user=researcher, name="cli", expires_in_days=1)
    update = QuerySet.update

    def disk_full(queryset, **fields):
        if queryset.model is ApiToken and "last_used_at" in fields:
            raise OperationalError("database or disk is full")
        return update(queryset, **fields)

    monkeypatch.setattr(QuerySet, "update", disk_full)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/v1/jobs/")
    assert response.status_code == 200, response.content
    assert ApiToken.objects.get(user=researcher).last_used_at is None


def test_the_stamp_is_written_when_it_can_be(researcher):
    _, key = api_token_create(user=researcher, name="cli", expires_in_days=1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/jobs/").status_code == 200
    assert ApiToken.objects.get(user=researcher).last_used_at is not None
