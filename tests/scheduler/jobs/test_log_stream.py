"""The live log over /ws/events/ (topic job.<id>, kind job.log): a watcher that disconnects and comes
back with ?after=<last event id> gets every byte the runner stored meanwhile, once, with no gap, even
when other topics' events (the GPU agent's board ticks) arrive before it has subscribed again."""

import asyncio

import pytest
from channels.testing import WebsocketCommunicator

from portal.asgi import application
from portal.realtime.services import event_publish
from scheduler.execution.runner import LogPump
from scheduler.models import Attempt, Job
from tests.asyncio_thread import run_coroutine
from tests.scheduler.factories import NodeFactory

ORIGIN = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]


@pytest.fixture
def pump(transactional_db, researcher, team_a, tmp_path):
    job = Job.objects.create(
        owner=researcher,
        team=team_a,
        name="train",
        command="python train.py",
        working_dir=str(tmp_path),
        gpus=1,
        time_limit_s=600,
    )
    attempt = Attempt.objects.create(job=job, number=1, node=NodeFactory(name="log-node"), state="running")
    return LogPump(attempt=attempt, path=tmp_path / "output.log")


def write(pump: LogPump, text: str) -> None:
    """What the job prints, then what the runner's next poll stores (one chunk and one event)."""
    with open(pump.path, "a", encoding="utf-8") as handle:
        handle.write(text)
    pump.pump()


async def connect(user, query: str = "") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/ws/events/{query}", headers=ORIGIN)
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "hello"
    return communicator


async def subscribe(communicator, topic: str) -> list[dict]:
    """Subscribe; returns the topic's events that arrived before the confirmation (a backlog)."""
    await communicator.send_json_to({"subscribe": topic})
    early = []
    while True:
        message = await communicator.receive_json_from(timeout=5)
        if message.get("type") == "subscribed":
            assert message["topic"] == topic
            return early
        if message.get("topic") == topic:
            early.append(message)


async def logs(communicator, topic: str, count: int) -> list[dict]:
    found = []
    while len(found) < count:
        message = await communicator.receive_json_from(timeout=5)
        if message.get("type") == "event" and message["topic"] == topic and message["kind"] == "job.log":
            found.append(message)
    return found


async def nothing_more(communicator, topic: str, quiet: float = 0.7) -> list[dict]:
    """The topic's events still to come, until it has been quiet for `quiet` seconds. Other topics
    keep arriving (a session stack's agent ticks on `public` several times a second), so waiting
    for silence on the whole socket could wait forever; receive_nothing, unlike a receive with a
    timeout, never cancels the consumer."""
    extra = []
    loop = asyncio.get_running_loop()
    last = loop.time()
    while loop.time() - last < quiet:
        if await communicator.receive_nothing(timeout=0.1):
            continue
        message = await communicator.receive_json_from()
        if message.get("topic") == topic:
            extra.append(message)
            last = loop.time()
    return extra


def test_a_reconnect_with_the_cursor_resumes_the_log_with_no_gap_and_no_duplicate(pump, researcher):
    topic = f"job.{pump.attempt.job_id}"
    from asgiref.sync import sync_to_async

    async def scenario():
        first = await connect(researcher)
        seen = await subscribe(first, topic)
        await sync_to_async(write)(pump, "epoch 1 loss 0.9\n")
        await sync_to_async(write)(pump, "epoch 2 loss 0.7\n")
        seen += await logs(first, topic, 2 - len(seen))
        await first.disconnect()

        # Offline: the job goes on, and the agent's board ticks (topic public) land after it.
        await sync_to_async(write)(pump, "epoch 3 loss 0.5\n")
        await sync_to_async(write)(pump, "epoch 4 loss 0.4\n")
        await sync_to_async(event_publish)(topic="public", kind="gpu.tick", payload={"t": 0, "nodes": [], "g": []})

        again = await connect(researcher, f"?after={seen[-1]['id']}")
        resumed = await subscribe(again, topic)
        await sync_to_async(write)(pump, "epoch 5 loss 0.3\n")
        resumed += await logs(again, topic, 3 - len(resumed))
        resumed += await nothing_more(again, topic)
        await again.disconnect()
        return seen, resumed

    seen, resumed = run_coroutine(scenario())
    chunks = [(m["payload"]["offset"], m["payload"]["text"]) for m in seen + resumed]
    text = "".join(t for _, t in chunks)
    assert text == "".join(f"epoch {n} loss {loss}\n" for n, loss in [(1, 0.9), (2, 0.7), (3, 0.5), (4, 0.4), (5, 0.3)])
    offsets = [o for o, _ in chunks]
    assert offsets == [
        sum(len(t.encode()) for _, t in chunks[:i]) for i in range(len(chunks))
    ]  # contiguous: no gap, no overlap
    assert len({m["id"] for m in seen + resumed}) == len(chunks)  # no event twice


def test_a_topic_subscribed_late_gets_what_was_published_since_the_connection_opened(pump, researcher):
    topic = f"job.{pump.attempt.job_id}"
    from asgiref.sync import sync_to_async

    async def scenario():
        watcher = await connect(researcher)
        await sync_to_async(write)(pump, "before the subscribe\n")
        await sync_to_async(event_publish)(topic="public", kind="gpu.tick", payload={"t": 0, "nodes": [], "g": []})
        await watcher.receive_json_from(timeout=5)  # the tick: the cursor has moved past the log event
        early = await subscribe(watcher, topic)
        early += await nothing_more(watcher, topic)
        await watcher.disconnect()
        return early

    early = run_coroutine(scenario())
    assert [m["payload"]["text"] for m in early] == ["before the subscribe\n"]


def test_a_chunk_never_ends_inside_a_character_while_the_job_runs(pump, settings):
    """A 4-byte chunk over "ab가" would end in the middle of 가 (3 bytes): its event would show a
    replacement mark and the page's byte count would drift from the stored one. The chunk stops
    before it; the next brings it whole; once the job ended a last half character is stored as it is."""
    from portal.realtime.models import Event
    from scheduler.models import LogChunk

    settings.JOB_LOG_CHUNK_BYTES = 4
    write(pump, "ab가")
    pump.pump()
    with open(pump.path, "ab") as handle:
        handle.write("나".encode()[:2])  # the job died mid-character
    pump.pump()  # nothing whole to add: no chunk
    pump.drain()
    chunks = [
        bytes(data)
        for data in LogChunk.objects.filter(attempt=pump.attempt).order_by("offset").values_list("data", flat=True)
    ]
    assert chunks == [b"ab", "가".encode(), "나".encode()[:2]]
    events = [
        e.payload for e in Event.objects.filter(topic=f"job.{pump.attempt.job_id}", kind="job.log").order_by("id")
    ]
    assert [(e["offset"], e["end"], e["text"]) for e in events] == [(0, 2, "ab"), (2, 5, "가"), (5, 7, "\ufffd")]
    assert Attempt.objects.get(pk=pump.attempt.pk).log_size == 7


def test_a_log_page_cut_by_its_limit_ends_before_a_character_and_the_next_starts_there(pump, settings):
    from scheduler.selectors.jobs import log_read

    write(pump, "ab가나")  # bytes 0-1 ab, 2-4 가, 5-7 나
    first, after = log_read(attempt=pump.attempt, offset=0, limit=4)
    assert (first, after) == (b"ab", 2)
    rest, end = log_read(attempt=pump.attempt, offset=after, limit=4)
    assert (rest.decode(), end) == ("가", 5)
    assert log_read(attempt=pump.attempt, offset=end)[0].decode() == "나"
