"""Several web processes serve one installation (docs/deployment.md "Web tier"): a session signed in on
one is valid on another, and live events reach websockets on every process, whichever process or
worker made them. The stack's web process is one; `second_web` (tests/stack.py) starts a second
against the same database and broker."""

import asyncio
import json
import time

import httpx
import pytest

from portal.notifications import tasks as notification_tasks
from tests.asyncio_thread import run_coroutine
from tests.stack import sign_in

pytestmark = pytest.mark.stack


def test_a_session_made_on_one_web_process_is_valid_on_another(live_stack, second_web, researcher):
    cookies = sign_in(live_stack.url, researcher.username)
    with httpx.Client(base_url=second_web, cookies=cookies, timeout=10) as client:
        answer = client.get("/api/v1/jobs/")
    assert answer.status_code == 200


def test_an_event_reaches_websockets_on_both_web_processes(live_stack, second_web, researcher):
    from websockets.asyncio.client import connect

    cookie = "; ".join(f"{name}={value}" for name, value in sign_in(second_web, researcher.username).items())

    async def next_notification(socket):
        while True:
            message = json.loads(await socket.recv())
            if message.get("type") == "event" and message["kind"] == "notification":
                return message

    async def scenario():
        sockets = []
        for url in (live_stack.url, second_web):
            socket = await connect(
                url.replace("http://", "ws://") + "/ws/events/", additional_headers={"Cookie": cookie}, origin=url
            )
            assert json.loads(await socket.recv())["type"] == "hello"
            sockets.append(socket)
        notification_tasks.send.delay(user_id=researcher.pk, kind="message", title="Made in the worker")
        try:
            return await asyncio.wait_for(asyncio.gather(*(next_notification(s) for s in sockets)), 20)
        finally:
            for socket in sockets:
                await socket.close()

    started = time.monotonic()
    first, second = run_coroutine(scenario())
    assert first["id"] == second["id"] and first["payload"]["title"] == "Made in the worker"
    assert time.monotonic() - started < 20
