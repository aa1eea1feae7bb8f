"""Realtime: an event made in a Celery worker reaches a browser's websocket on the web process, in
both modes; strangers are refused; a reconnect resumes without gaps or duplicates."""

import asyncio
import json

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from portal.asgi import application
from portal.notifications import tasks as notification_tasks
from portal.notifications.models import Notification
from portal.notifications.services import notification_send
from tests.asyncio_thread import run_coroutine

SAME_ORIGIN = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]  # the handshake's own origin


def ws_url(stack, query=""):
    return stack.url.replace("http://", "ws://") + "/ws/events/" + query


def session_cookie_for(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


async def next_event(socket, kind, timeout=15.0):
    async def read():
        while True:
            message = json.loads(await socket.recv())
            if message.get("type") == "event" and message["kind"] == kind:
                return message

    return await asyncio.wait_for(read(), timeout)


@pytest.mark.stack
def test_an_event_made_in_the_worker_reaches_the_browser(live_stack, researcher):
    cookie = session_cookie_for(researcher)

    async def scenario():
        async with connect(ws_url(live_stack), additional_headers={"Cookie": cookie}, origin=live_stack.url) as socket:
            hello = json.loads(await socket.recv())
            assert hello["type"] == "hello"
            notification_tasks.send.delay(user_id=researcher.pk, kind="message", title="Your job finished")
            return await next_event(socket, "notification")

    message = run_coroutine(scenario())
    assert message["topic"] == f"user.{researcher.pk}"
    assert message["payload"]["title"] == "Your job finished"
    assert message["payload"]["unread"] == 1
    assert Notification.objects.filter(user=researcher).count() == 1


@pytest.mark.stack
def test_an_anonymous_websocket_is_refused(live_stack):
    async def scenario():
        async with connect(ws_url(live_stack), origin=live_stack.url) as socket:
            await socket.recv()

    with pytest.raises(InvalidStatus) as refused:
        run_coroutine(scenario())
    assert refused.value.response.status_code == 403


@pytest.mark.stack
def test_a_websocket_from_a_foreign_origin_is_refused(live_stack, researcher):
    cookie = session_cookie_for(researcher)

    async def scenario():
        async with connect(
            ws_url(live_stack), additional_headers={"Cookie": cookie}, origin="http://evil.example"
        ) as socket:
            await socket.recv()

    with pytest.raises(InvalidStatus) as refused:
        run_coroutine(scenario())
    assert refused.value.response.status_code == 403


async def _collect(communicator, count, topic, timeout=5.0):
    """The next `count` events of `topic` (the stack's GPU agent may publish on `public` meanwhile)."""
    received = []
    while len(received) < count:
        message = await communicator.receive_json_from(timeout=timeout)
        if message["type"] == "event" and message["topic"] == topic:
            received.append(message)
    return received


async def _more_of(communicator, topic, wait=0.5) -> list:
    extra = []
    while not await communicator.receive_nothing(timeout=wait):
        message = await communicator.receive_json_from()
        if message.get("topic") == topic:
            extra.append(message)
    return extra


def test_a_reconnect_resumes_after_the_last_event_without_gaps_or_duplicates(transactional_db, researcher, outsider):
    first = notification_send(user=researcher, kind="message", title="one").id
    notification_send(user=outsider, kind="message", title="not for the researcher")
    notification_send(user=researcher, kind="message", title="two")
    notification_send(user=researcher, kind="message", title="three")

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/events/?after=0", headers=SAME_ORIGIN)
        communicator.scope["user"] = researcher
        connected, _ = await communicator.connect()
        assert connected
        await communicator.receive_json_from()  # hello
        topic = f"user.{researcher.pk}"
        events = await _collect(communicator, 3, topic)
        await communicator.disconnect()
        resumed = WebsocketCommunicator(application, f"/ws/events/?after={events[0]['id']}", headers=SAME_ORIGIN)
        resumed.scope["user"] = researcher
        await resumed.connect()
        await resumed.receive_json_from()
        again = await _collect(resumed, 2, topic)
        assert await _more_of(resumed, topic) == []
        await resumed.disconnect()
        return events, again

    events, again = run_coroutine(scenario())
    assert [e["payload"]["title"] for e in events] == ["one", "two", "three"]
    assert [e["payload"]["title"] for e in again] == ["two", "three"]
    assert events[0]["payload"]["id"] == first


def test_a_topic_of_another_kind_cannot_be_subscribed(transactional_db, researcher):
    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/events/", headers=SAME_ORIGIN)
        communicator.scope["user"] = researcher
        await communicator.connect()
        await communicator.receive_json_from()
        await communicator.send_json_to({"subscribe": "job.1"})
        reply = await communicator.receive_json_from(timeout=10)
        while reply.get("type") == "event":  # the public topic's traffic (the stack's agent ticks the board)
            reply = await communicator.receive_json_from(timeout=10)
        await communicator.disconnect()
        return reply

    assert run_coroutine(scenario()) == {"type": "refused", "topic": "job.1"}


def _hello(after: int, user) -> dict:
    async def scenario():
        communicator = WebsocketCommunicator(application, f"/ws/events/?after={after}", headers=SAME_ORIGIN)
        communicator.scope["user"] = user
        await communicator.connect()
        hello = await communicator.receive_json_from()
        await communicator.disconnect()
        return hello

    return run_coroutine(scenario())


def test_pruning_keeps_the_newest_event_to_mark_how_far_back_the_table_reaches(transactional_db, researcher):
    from datetime import timedelta

    from portal.realtime.models import Event
    from portal.realtime.services import events_prune

    for n in range(3):
        notification_send(user=researcher, kind="message", title=str(n))
    events_prune(older_than=timedelta(0))
    # One row left: the newest (the session stack's GPU agent may have published after ours).
    assert Event.objects.count() == 1


def test_a_resume_from_before_the_pruned_history_says_events_were_missed(transactional_db, researcher):
    from datetime import timedelta

    from portal.realtime.models import Event
    from portal.realtime.services import events_prune

    for title in ("one", "two", "three"):
        notification_send(user=researcher, kind="message", title=title)
    first = Event.objects.filter(topic=f"user.{researcher.pk}").order_by("id").values_list("id", flat=True).first()
    assert _hello(first, researcher)["missed"] is False  # everything after it is still there
    events_prune(older_than=timedelta(0))  # "two" is gone, and "three" unless something came after it
    assert _hello(first, researcher)["missed"] is True
    newest = Event.objects.order_by("-id").values_list("id", flat=True).first()
    assert _hello(newest, researcher)["missed"] is False
