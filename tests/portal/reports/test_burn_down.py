"""The quota burn-down chart (issue 24): per team, the share of its monthly quota counted by each day's
end, blank for days to come, and the projection at the pace so far from today, against 100 %."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client, override_settings

from tests.actors import api_client_for
from tests.scheduler.factories import booking, fleet, quota_set

pytestmark = pytest.mark.django_db


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def booked(researcher, team_a):
    quota_set(team_a, gpu_hours_per_month=100, max_concurrent_gpus=8)
    gpus = fleet(nodes=1, per_node=2)
    with time_machine.travel(utc(2026, 10, 30), tick=False):
        booking(user=researcher, gpus=gpus, start=utc(2026, 11, 2), end=utc(2026, 11, 3))  # 48 GPU-h
        booking(user=researcher, gpus=gpus[:1], start=utc(2026, 11, 20), end=utc(2026, 11, 20, 10))  # 10, ahead
    return team_a


def test_the_burn_down_counts_each_day_leaves_the_future_blank_and_projects_the_pace(booked, admin):
    with override_settings(TIME_ZONE="UTC"), time_machine.travel(utc(2026, 11, 5, 12), tick=False):
        body = api_client_for(admin).get("/api/v1/reports/burn-daily/?month=2026-11").json()
        page = Client()
        page.force_login(admin)
        html = page.get("/reports/burn/?month=2026-11").content.decode()
    rows = body["rows"]
    used, projected = f"team_{booked.pk}_pct", f"team_{booked.pk}_projected_pct"

    assert len(rows) == 30 and rows[0]["start"] == "2026-11-01T00:00:00+00:00"
    assert [r[used] for r in rows[:6]] == [0.0, 48.0, 48.0, 48.0, 48.0, None]
    assert all(r[used] is None for r in rows[5:])
    assert [r[projected] for r in rows[3:5]] == [None, 53.3]  # 48 GPU-h in 4.5 days, at day 5's end
    assert rows[-1][projected] == 320.0  # at that pace for 30 days, more than the 58 GPU-h booked
    assert all(r["quota_pct"] == 100.0 for r in rows)
    assert 'id="chart-data-burn-daily"' in html and 'id="chart-data-split"' not in html
    assert "uPlot.iife.min.js" in html
