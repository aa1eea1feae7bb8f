"""The race over HTTP against the live stack (uvicorn, real database): 100 concurrent POSTs for one
slot give exactly one 201 and 99 × 409; no 5xx, no "database is locked"."""

import asyncio
from collections import Counter

import httpx
import pytest

from portal.accounts.services import api_token_create
from scheduler.models import Booking, GpuOccupancy
from tests.asyncio_thread import run_coroutine
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.scheduler.factories import fleet, hours_from_now
from tests.scheduler.race import threads_for

pytestmark = pytest.mark.stack


async def _post_all(url: str, tokens: list[str], body: dict) -> list[httpx.Response]:
    # Django serves each request on its own thread and database connection; PostgreSQL here allows
    # 100 connections shared with the stack and other test runs, so at most 50 requests are in flight.
    limits = httpx.Limits(max_connections=threads_for(len(tokens)))
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        return await asyncio.gather(
            *(client.post(url, json=body, headers={"Authorization": f"Token {t}"}) for t in tokens)
        )


def test_a_hundred_concurrent_requests_for_one_slot_create_one_booking(live_stack):
    teams = [TeamFactory(name=f"HTTP racers {t}") for t in range(4)]
    tokens = []
    for i in range(100):
        user = UserFactory(username=f"http-racer{i}")
        MembershipFactory(team=teams[i % 4], user=user, is_researcher=True)
        tokens.append(api_token_create(user=user, name="race", expires_in_days=1)[1])
    gpu = fleet(nodes=1, per_node=1, prefix="race")[0]
    body = {"gpu_ids": [gpu.pk], "start": hours_from_now(2).isoformat(), "end": hours_from_now(3).isoformat()}

    responses = run_coroutine(_post_all(f"{live_stack.url}/api/v1/bookings/", tokens, body))

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 99}, statuses
    assert not [r for r in responses if "locked" in r.text]
    assert Booking.objects.count() == GpuOccupancy.objects.count() == 1
