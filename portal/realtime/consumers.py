"""One websocket per page: /ws/events/. Delivers events from the table to signed-in users.

Resume: the client reconnects with ?after=<last id it saw> and receives everything since, once.
If some of that was pruned meanwhile (offline longer than the retention), the hello says
`"missed": true` and the page offers a reload: it cannot be brought up to date event by event.
A topic subscribed after the connection opened (a job's log) first gets its own events from the
opening cursor up to where the stream already is: the pump may have moved past them while only the
default topics were on (the agent's board ticks arrive every second), and skipping them would leave
a gap the client cannot see.
"""

import asyncio
import contextlib
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from portal.realtime import selectors, topics
from portal.realtime.services import WAKE_GROUP

CLOSE_UNAUTHENTICATED = 4401


class EventStreamConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.topics = await database_sync_to_async(topics.default_topics_for)(user)
        requested = self._requested_cursor()
        self.cursor = requested if requested is not None else await database_sync_to_async(selectors.latest_event_id)()
        missed = requested is not None and not await database_sync_to_async(selectors.resume_is_complete)(
            after_id=requested
        )
        self.opened_at = self.cursor
        self.sending = asyncio.Lock()  # a subscription's backlog and the pump's batches never interleave
        self.wake = asyncio.Event()
        await self.channel_layer.group_add(WAKE_GROUP, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "cursor": self.cursor, "missed": missed})
        self.pump = asyncio.create_task(self._pump())

    def _requested_cursor(self) -> int | None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        raw = (query.get("after") or [""])[0]
        return int(raw) if raw.isdigit() else None

    async def receive_json(self, content, **kwargs):
        topic = content.get("subscribe") if isinstance(content, dict) else None
        if not isinstance(topic, str):
            await self.send_json({"type": "error", "detail": 'Send {"subscribe": "<topic>"}.'})
            return
        allowed = await database_sync_to_async(topics.may_subscribe)(self.user, topic)
        if allowed and topic not in self.topics:
            async with self.sending:
                await self._send_backlog(topic)
                self.topics.add(topic)
            self.wake.set()
        # An unknown or forbidden topic looks the same: nothing leaks about what exists.
        await self.send_json({"type": "subscribed" if allowed else "refused", "topic": topic})

    async def events_wake(self, message):
        self.wake.set()

    async def _send_backlog(self, topic: str) -> None:
        """The topic's events in (opening cursor, current cursor]: never sent on this connection."""
        after = self.opened_at
        while after < self.cursor:
            batch = await database_sync_to_async(selectors.events_after)(
                after_id=after, topics={topic}, upto_id=self.cursor
            )
            for event in batch:
                await self._send_event(event)
            if len(batch) < selectors.BATCH_LIMIT:
                return
            after = batch[-1].id

    async def _send_event(self, event) -> None:
        await self.send_json(
            {"type": "event", "id": event.id, "topic": event.topic, "kind": event.kind, "payload": event.payload}
        )

    async def _pump(self):
        while True:
            async with self.sending:
                batch = await database_sync_to_async(selectors.events_after)(
                    after_id=self.cursor, topics=set(self.topics)
                )
                for event in batch:
                    await self._send_event(event)
                    self.cursor = event.id
            if len(batch) == selectors.BATCH_LIMIT:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=settings.REALTIME_POLL_INTERVAL)
            self.wake.clear()

    async def disconnect(self, code):
        pump = getattr(self, "pump", None)
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
        if hasattr(self, "wake"):
            await self.channel_layer.group_discard(WAKE_GROUP, self.channel_name)
