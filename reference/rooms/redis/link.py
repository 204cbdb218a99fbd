"""This instance's two connections to Redis: a command pool and one subscriber connection that we read ourselves.

redis-py's clients retry and resubscribe by themselves when a connection drops. That is exactly how a worker
goes deaf or loses messages without anyone noticing (python-socketio#1581, #1411; ANCHORS.md §3.2), so here
nothing retries silently: retries are off, the subscriber is a bare connection read by one task, and any error
on either ends the `Link` and is reported once through `on_lost`. The broker then says `degraded`, reconnects
with backoff, and repairs what was missed from history (broker.py). A subscriber that stays connected
but hears nothing is caught by the heartbeat's echo (`last_heard`, presence.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from roomwire.reference.rooms.redis import stopping
from roomwire.reference.rooms.redis.config import RedisOptions

log = logging.getLogger(__name__)

#: What "Redis is lost" looks like; anything else from Redis is a bug of ours and propagates.
LOST = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,  # a replica promoted away under us
    redis_errors.OutOfMemoryError,  # Redis at `maxmemory` refuses every write: rooms cannot span instances now
    OSError,
    TimeoutError,
)
#: Commands in flight at once; more wait for a free connection (a burst is not an outage, so they wait long).
MAX_CONNECTIONS = 16
POOL_WAIT_TIMEOUTS = 10


class Link:
    """One generation of connections; a lost link is never reused (see the module docstring)."""

    def __init__(
        self,
        options: RedisOptions,
        on_message: Callable[[bytes, bytes], None],
        on_lost: Callable[[BaseException], None],
        name: str,
    ) -> None:
        self.options = options
        self._on_message = on_message
        self._on_lost = on_lost
        timeouts: dict[str, Any] = {
            "socket_connect_timeout": options.timeout_s,
            "retry": Retry(NoBackoff(), 0),
            "protocol": 2,  # plain arrays for pub/sub messages: RESP3 push frames cost a debug log line each
        }
        self._pool = BlockingConnectionPool.from_url(
            options.url, max_connections=MAX_CONNECTIONS, timeout=options.timeout_s * POOL_WAIT_TIMEOUTS,
            socket_timeout=options.timeout_s, **timeouts,
        )  # fmt: skip
        self.client = Redis(connection_pool=self._pool)
        # named, so that an operator (or a test) finds each instance's subscriber in CLIENT LIST
        self._sub_pool = ConnectionPool.from_url(options.url, client_name=f"roomwire-sub-{name}", **timeouts)
        self._sub: AbstractConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._confirm: dict[bytes, asyncio.Future[None]] = {}
        self._send_lock = asyncio.Lock()
        self.closed = False
        self.last_heard = time.monotonic()

    async def open(self) -> None:
        """Connect both, or raise one of `LOST`."""
        await self.client.ping()
        sub: AbstractConnection = self._sub_pool.make_connection()  # type: ignore[no-untyped-call]
        await sub.connect()  # type: ignore[no-untyped-call]
        self._sub = sub
        self._reader = asyncio.get_running_loop().create_task(self._read(sub), name="roomwire-redis-subscriber")

    async def subscribe(self, channels: Iterable[str]) -> None:
        """SUBSCRIBE and wait for Redis to confirm: from then on every message published reaches us."""
        names = [name.encode() for name in channels]
        if not names:
            return
        waits = []
        loop = asyncio.get_running_loop()
        for name in names:
            future = self._confirm.get(name)
            if future is None or future.done():
                future = self._confirm[name] = loop.create_future()
            waits.append(future)
        await self._send("SUBSCRIBE", *names)
        async with asyncio.timeout(self.options.timeout_s * 2):  # not wait_for: on 3.11 it can swallow a cancel
            await asyncio.gather(*waits)

    async def unsubscribe_idle(self, pick: Callable[[], list[str]]) -> None:
        """UNSUBSCRIBE what `pick` returns; `pick` runs under the send lock, so a SUBSCRIBE for a room it keeps
        or drops is sent after this UNSUBSCRIBE, never before it."""
        sub = self._sub
        if sub is None or self.closed:
            return
        async with self._send_lock:
            channels = pick()
            if channels:
                async with asyncio.timeout(self.options.timeout_s):
                    await sub.send_command("UNSUBSCRIBE", *channels, check_health=False)

    async def _send(self, *args: bytes | str) -> None:
        sub = self._sub
        if sub is None or self.closed:
            raise redis_errors.ConnectionError("the Redis link is closed")
        async with self._send_lock, asyncio.timeout(self.options.timeout_s):
            await sub.send_command(*args, check_health=False)

    async def _read(self, sub: AbstractConnection) -> None:
        try:
            while True:
                reply = await sub.read_response(timeout=math.inf, disconnect_on_error=False)
                self.last_heard = time.monotonic()
                if isinstance(reply, list) and len(reply) >= 3:
                    self._dispatch(reply[0], reply[1], reply[2])
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # every way the subscriber can end is a lost link
            self.lost(exc)

    def _dispatch(self, kind: bytes, channel: bytes, data: Any) -> None:
        if kind == b"message":
            self._on_message(channel, data)
        elif kind == b"subscribe":
            future = self._confirm.pop(channel, None)
            if future is not None and not future.done():
                future.set_result(None)

    def lost(self, exc: BaseException) -> None:
        """Report the loss once and stop using this link."""
        if self.closed:
            return
        self.closed = True
        for future in self._confirm.values():
            if not future.done():
                future.set_exception(redis_errors.ConnectionError("the Redis link was lost"))
                future.exception()  # retrieved: nobody may be waiting any more
        self._confirm.clear()
        self._on_lost(exc)

    async def close(self) -> None:
        """Release every connection (idempotent); a reader still running is cancelled.

        The wait for the reader swallows nothing of the caller's: a caller cancelled meanwhile (the reconnect
        loop, stopped by the broker's close) stops here, instead of going on to open a new link that nobody
        would close (its connections then leaked, found only by the garbage collector)."""
        self.closed = True
        reader, self._reader = self._reader, None
        try:
            if reader is not None and reader is not asyncio.current_task():  # its own end is not raised
                await stopping.stop([reader], within=2 * self.options.timeout_s)
        finally:  # also when the caller is cancelled meanwhile: the connections go either way
            sub, self._sub = self._sub, None
            if sub is not None:
                with contextlib.suppress(Exception):
                    await sub.disconnect(nowait=True)
            for pool in (self._pool, self._sub_pool):
                with contextlib.suppress(Exception):
                    await pool.disconnect()
            with contextlib.suppress(Exception):
                await self.client.aclose(close_connection_pool=False)


def why(exc: BaseException) -> str:
    """One short line saying what went wrong, for logs and the start-up error."""
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
