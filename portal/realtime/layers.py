"""The channel layer of service mode: channels_redis, whose outages never reach a consumer or a publisher.

Redis only wakes consumers early; every event is a row they read anyway at the polling interval
(docs/architecture.md "Realtime across processes"). So while Redis cannot be reached a wake-up is
dropped, a consumer's receive waits and tries again instead of raising (Channels would close the
socket with 1011, or answer the handshake with a 500), and the groups this process joined are joined
again once Redis answers: a restarted Redis has forgotten them.
"""

import asyncio
import contextlib
import logging
import time

from channels_redis.core import RedisChannelLayer
from channels_redis.utils import create_pool
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Refused, reset, timed out (TimeoutError is an OSError), or an answer such as LOADING or READONLY.
REDIS_UNAVAILABLE = (RedisError, OSError)


class RedisWakeupLayer(RedisChannelLayer):
    def __init__(self, *args, operation_timeout: float = 2.0, reconnect_interval: float = 1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.operation_timeout = operation_timeout  # a Redis that accepts and never answers stalls nobody longer
        self.reconnect_interval = reconnect_interval  # how often a waiting receive tries Redis again
        self.memberships: set[tuple[str, str]] = set()  # (group, channel) joined by this process
        self.failures = 0
        self.rejoined_after = 0  # the value of `failures` when the groups were last joined again
        self.reachable = True
        self.quiet_until = 0.0  # monotonic time before which group_send does not try Redis again

    def create_pool(self, index):
        host = {
            "socket_connect_timeout": self.operation_timeout,
            # A receive blocks in Redis up to brpop_timeout; silence beyond that is a server gone without
            # a word (its host lost or cut off), which TCP alone would not notice on an idle connection.
            "socket_timeout": self.brpop_timeout + self.operation_timeout,
            **self.hosts[index],
        }
        return create_pool(host)

    async def receive(self, channel):
        while True:
            try:
                await self._rejoin_groups()
                return await super().receive(channel)
            except REDIS_UNAVAILABLE as error:
                await self._note_unavailable(error)
                await asyncio.sleep(self.reconnect_interval)

    async def group_add(self, group, channel):
        self.memberships.add((group, channel))
        await self._attempt(super().group_add, group, channel)

    async def group_discard(self, group, channel):
        self.memberships.discard((group, channel))
        await self._attempt(super().group_discard, group, channel)

    async def group_send(self, group, message):
        # Within reconnect_interval of a failure a wake-up is dropped untried: publishers (a job's log,
        # the agent's ticks) would each wait out the timeout of a Redis that does not answer.
        if time.monotonic() >= self.quiet_until:
            await self._attempt(super().group_send, group, message)

    async def _attempt(self, operation, *args) -> None:
        """Run a group operation within the timeout; if Redis is unavailable, note it and go on."""
        try:
            async with asyncio.timeout(self.operation_timeout):
                await operation(*args)
        except REDIS_UNAVAILABLE as error:
            await self._note_unavailable(error)
        else:
            self._note_reachable()

    async def _rejoin_groups(self) -> None:
        failures = self.failures
        if self.rejoined_after == failures:
            return
        for group, channel in list(self.memberships):
            async with asyncio.timeout(self.operation_timeout):
                await super().group_add(group, channel)
        self.rejoined_after = failures
        self._note_reachable()

    async def _note_unavailable(self, error: Exception) -> None:
        """Count the failure, warn once per outage, and close this event loop's idle connections: after
        a restart they are all dead, and each would fail its next command (losing a wake-up)."""
        self.failures += 1
        self.quiet_until = time.monotonic() + self.reconnect_interval
        if self.reachable:
            log.warning(
                "Redis unavailable (%s), realtime falls back to polling the event table: %s",
                type(error).__name__,
                error,
            )
        self.reachable = False
        for index in range(self.ring_size):
            with contextlib.suppress(*REDIS_UNAVAILABLE):
                await self.connection(index).connection_pool.disconnect(inuse_connections=False)

    def _note_reachable(self) -> None:
        if not self.reachable:
            log.warning("Redis answers again: realtime wake-ups are back")
        self.reachable = True
