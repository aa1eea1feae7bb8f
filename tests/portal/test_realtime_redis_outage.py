"""Live updates through a Redis outage: the channel layer of service mode against a Redis this test
starts, stops and starts again on the same port (never the machine's). While Redis is away the
consumers serve from the event table at the polling interval; once it answers they are woken again.
Runs in both modes: only the layer is Redis here, the database is whichever the run uses."""

import asyncio
import logging
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction

from portal.asgi import application
from portal.realtime.layers import RedisWakeupLayer
from portal.realtime.models import Event
from portal.realtime.services import WAKE_GROUP, event_publish
from tests.asyncio_thread import run_coroutine

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server program")

LAYER = "portal.realtime.layers.RedisWakeupLayer"
FAST_POLL = 0.2
# With this polling interval an event that arrives within PUSHED_WITHIN can only have been pushed.
SLOW_POLL = 60.0
PUSHED_WITHIN = 5.0


class PrivateRedis:
    """A redis-server on a free port, without persistence: a restart forgets every group."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self):
        self.process.kill()
        self.process.wait()

    def freeze(self):
        """Connections are still accepted (by the kernel), nothing is answered."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self):
        self.process.send_signal(signal.SIGCONT)

    def members(self, prefix: str, group: str) -> int:
        return redis.Redis(port=self.port).zcard(f"{prefix}:group:{group}")


class SilencingProxy:
    """A TCP proxy in front of the private Redis. `silence()` makes the connections it holds carry nothing
    more, without closing them: a server gone without a word, as when its host is lost or cut off.
    Connections made afterwards go through again."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self.listener.getsockname()[1]}/0"
        self.generation = 0
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept_forever, daemon=True).start()

    def silence(self):
        self.generation += 1

    def close(self):
        for sock in [self.listener, *self.sockets]:
            sock.close()

    def _accept_forever(self):
        while True:
            try:
                client, _ = self.listener.accept()
                server = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                return
            self.sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, target, self.generation), daemon=True).start()

    def _pipe(self, source, target, generation):
        try:
            while data := source.recv(65536):
                if generation == self.generation:
                    target.sendall(data)
        except OSError:
            pass


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


def use_layer(settings, private_redis, **config) -> str:
    """Make Channels' default layer the service-mode layer on the private Redis, with its own key prefix
    (changing CHANNEL_LAYERS drops the layers Channels had built)."""
    prefix = f"atelier-outage-{uuid.uuid4().hex[:8]}"
    config = {"hosts": [private_redis.url], "prefix": prefix, "reconnect_interval": FAST_POLL, **config}
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": LAYER, "CONFIG": config}}
    return prefix


@pytest.fixture
def wakeup_layer(private_redis, settings):
    settings.REALTIME_POLL_INTERVAL = FAST_POLL
    return use_layer(settings, private_redis)


async def open_socket(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, "/ws/events/", headers=[(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]
    )
    communicator.scope["user"] = user
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    assert (await communicator.receive_json_from(timeout=10))["type"] == "hello"
    return communicator


async def publish(user, name: str) -> None:
    """As a request or a task does: the row in a transaction, the wake-up after commit."""

    def in_transaction():
        with transaction.atomic():
            event_publish(topic=f"user.{user.pk}", kind="note", payload={"name": name})

    await sync_to_async(in_transaction)()


async def received(communicator, count: int, within: float) -> list[str]:
    names = []
    async with asyncio.timeout(within):
        while len(names) < count:
            message = await communicator.receive_json_from(timeout=within)
            # Only this test's notes: a session stack's agent, if running, publishes board ticks too.
            if message["type"] == "event" and message["kind"] == "note":
                names.append(message["payload"]["name"])
    return names


async def nothing_more(communicator) -> bool:
    """No note of this test arrives for a while (a running stack's board ticks may: they are skipped).
    receive_nothing, unlike a receive with a timeout, never cancels the consumer."""
    return await _next_note(communicator, within=3 * FAST_POLL) is None


async def _next_note(communicator, within: float) -> str | None:
    """The next note's name, or None if none arrives within `within` seconds; other events are skipped."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while (left := end - loop.time()) > 0:
        if await communicator.receive_nothing(timeout=left):
            return None
        message = await communicator.receive_json_from()
        if message["type"] == "event" and message["kind"] == "note":
            return message["payload"]["name"]
    return None


async def wait_for_members(private_redis, prefix: str, count: int) -> None:
    """The consumers joined the wake-up group again on the restarted Redis."""
    deadline = time.monotonic() + 10
    while private_redis.members(prefix, WAKE_GROUP) < count:
        assert time.monotonic() < deadline, "the consumers did not join the wake-up group again"
        await asyncio.sleep(0.05)


async def woken_until_delivered(communicator, within: float) -> list[str]:
    """Wake the consumers again and again until the note arrives: a wake-up that Redis hands to a
    receive whose connection went silent is lost with it (the event is not: the next poll has it)."""
    layer = get_channel_layer()
    async with asyncio.timeout(within):
        while (name := await _next_note(communicator, within=FAST_POLL)) is None:
            await layer.group_send(WAKE_GROUP, {"type": "events.wake"})
    return [name]


async def switch_to_slow_polling(settings, user, sockets) -> None:
    """From here on a consumer that delivered the marker waits SLOW_POLL for a wake-up."""
    settings.REALTIME_POLL_INTERVAL = SLOW_POLL
    await publish(user, "marker")
    for communicator in sockets:
        assert await received(communicator, 1, within=PUSHED_WITHIN) == ["marker"]


def test_a_client_stays_connected_through_a_redis_restart_and_misses_nothing(
    transactional_db, researcher, private_redis, wakeup_layer, settings
):
    async def scenario():
        settings.REALTIME_POLL_INTERVAL = SLOW_POLL
        socket = await open_socket(researcher)
        await publish(researcher, "before")
        pushed_before = await received(socket, 1, within=PUSHED_WITHIN)
        settings.REALTIME_POLL_INTERVAL = FAST_POLL
        await publish(researcher, "polling from now")
        names = pushed_before + await received(socket, 1, within=PUSHED_WITHIN)

        private_redis.stop()
        for name in ("during 1", "during 2", "during 3"):
            await publish(researcher, name)
        names += await received(socket, 3, within=PUSHED_WITHIN)
        await switch_to_slow_polling(settings, researcher, [socket])

        private_redis.start()
        await wait_for_members(private_redis, wakeup_layer, 1)
        await publish(researcher, "after")
        pushed_after = await received(socket, 1, within=PUSHED_WITHIN)
        quiet = await nothing_more(socket)
        await socket.disconnect()
        return pushed_before, names, pushed_after, quiet

    pushed_before, names, pushed_after, quiet = run_coroutine(scenario())
    assert pushed_before == ["before"]
    assert names == ["before", "polling from now", "during 1", "during 2", "during 3"]
    assert pushed_after == ["after"]
    assert quiet, "an event came twice"


def test_a_client_connecting_while_redis_is_down_is_accepted_and_served(
    transactional_db, researcher, private_redis, wakeup_layer, settings
):
    async def scenario():
        private_redis.stop()
        socket = await open_socket(researcher)
        await publish(researcher, "during")
        during = await received(socket, 1, within=PUSHED_WITHIN)
        await switch_to_slow_polling(settings, researcher, [socket])

        private_redis.start()
        await wait_for_members(private_redis, wakeup_layer, 1)
        await publish(researcher, "after")
        pushed_after = await received(socket, 1, within=PUSHED_WITHIN)
        quiet = await nothing_more(socket)
        await socket.disconnect()
        return during, pushed_after, quiet

    during, pushed_after, quiet = run_coroutine(scenario())
    assert during == ["during"]
    assert pushed_after == ["after"]
    assert quiet, "an event came twice"


def test_publishing_while_redis_is_down_records_the_events_and_warns_once(
    transactional_db, researcher, private_redis, wakeup_layer, caplog
):
    private_redis.stop()
    started = time.monotonic()

    def publish_three():  # in a thread of its own, as a request or task: Playwright may hold a loop in this one
        for name in ("one", "two", "three"):
            with transaction.atomic():
                event_publish(topic=f"user.{researcher.pk}", kind="note", payload={"name": name})

    with caplog.at_level(logging.WARNING, logger="portal.realtime"):
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(publish_three).result()
    assert time.monotonic() - started < 2.0
    assert Event.objects.filter(topic=f"user.{researcher.pk}").count() == 3
    assert [record.message.split(":")[0] for record in caplog.records] == [
        "Redis unavailable (ConnectionError), realtime falls back to polling the event table"
    ]


def test_a_redis_that_answers_nothing_holds_up_a_connect_and_one_publish_for_the_operation_timeout_only(
    transactional_db, researcher, private_redis, settings
):
    settings.REALTIME_POLL_INTERVAL = FAST_POLL
    use_layer(settings, private_redis, operation_timeout=1.0, reconnect_interval=30.0)

    async def timed(operation):
        started = time.monotonic()
        result = await operation
        return result, time.monotonic() - started

    async def scenario():
        first = await open_socket(researcher)
        private_redis.freeze()
        try:
            _, first_publish = await timed(publish(researcher, "frozen"))
            _, next_publish = await timed(publish(researcher, "still frozen"))
            second, connect = await timed(open_socket(researcher))
            await publish(researcher, "frozen still")
            first_names = await received(first, 3, within=PUSHED_WITHIN)
            second_names = await received(second, 1, within=PUSHED_WITHIN)
        finally:
            private_redis.thaw()
        await first.disconnect()
        await second.disconnect()
        return (first_publish, next_publish, connect), first_names, second_names

    (first_publish, next_publish, connect), first_names, second_names = run_coroutine(scenario())
    assert 1.0 <= first_publish < 2.0
    assert next_publish < 0.5
    assert connect < 2.0
    assert first_names == ["frozen", "still frozen", "frozen still"]
    assert second_names == ["frozen still"]


def test_a_redis_gone_without_a_word_is_noticed_and_the_push_comes_back(
    transactional_db, researcher, private_redis, settings
):
    """The receive's connection is silent, not closed: only its read timeout tells it to reconnect."""
    settings.REALTIME_POLL_INTERVAL = FAST_POLL
    proxy = SilencingProxy(private_redis.port)
    use_layer(settings, private_redis, operation_timeout=0.5, hosts=[proxy.url])

    async def scenario():
        socket = await open_socket(researcher)
        proxy.silence()
        await publish(researcher, "silent")
        polled = await received(socket, 1, within=PUSHED_WITHIN)
        await switch_to_slow_polling(settings, researcher, [socket])
        await publish(researcher, "after")
        pushed_after = await woken_until_delivered(socket, within=RedisWakeupLayer.brpop_timeout + PUSHED_WITHIN)
        await socket.disconnect()
        return polled, pushed_after

    try:
        polled, pushed_after = run_coroutine(scenario())
    finally:
        proxy.close()
    assert polled == ["silent"]
    assert pushed_after == ["after"]
