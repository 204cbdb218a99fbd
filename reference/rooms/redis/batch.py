"""Chat messages published in batches: every message of one event-loop turn in one round trip to Redis.

A room event on Redis should cost one publish and one receive per instance, not a round trip per message.
`Batcher.post` queues a message and returns at once; one flush task sends everything queued so far as one
pipeline (one write, one read) with one PUBLISH script per room (scripts.PUBLISH: one `INCRBY`, one `TIME`, one
`RPUSH`, one `PUBLISH` for the room's whole batch). While a flush is in flight new messages queue for the next
one, so batches grow with the load by themselves: no timer, and no added latency when idle (a lone message
leaves at the end of the loop turn that queued it). Delivery, this instance's members included, comes through
the room's channel as always (state.LocalRoom). `publish` is the same with a wait for the message's `seq`.

Order. A room's messages keep the order they were queued in: one list per room, sent in that order; Redis runs a
pipeline's commands in order; one flush at a time. So a connection may go on reading while its message is on
its way (CHAT-004 holds: its messages are queued in the order it sent them). `settled` waits until everything
queued so far has been sent, which a leave does first, so that no message of a member follows its leave.

Backpressure. At most `MAX_QUEUED` messages wait; `post` beyond that waits for the flush in flight, which stops
the posting connection from reading (as a slow Redis should).

Failure. When Redis is lost (`link.LOST`) every message of the failed batch, and every one queued behind it,
goes to `fallback` in order: the broker publishes it locally (the outage path) and degrades. Any other error is
a bug of ours: a waiting `publish` gets it; posted messages are logged as lost, once per batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from roomwire.reference.rooms.broker import EventDraft, RoomEvent
from roomwire.reference.rooms.redis.link import LOST

log = logging.getLogger(__name__)

#: Messages of one room per script call: Lua's `unpack` has a stack limit (8,000), and one script blocks Redis.
MAX_PER_SCRIPT = 256
#: Messages queued before `post` makes its caller wait.
MAX_QUEUED = 4096

#: (room, fragments) per script call -> (first seq, ts) or the error Redis answered, per call.
Send = Callable[[Sequence[tuple[str, Sequence[bytes]]]], Awaitable[Sequence[tuple[int, int] | BaseException]]]
#: A message Redis could not take: publish it locally (and degrade); its event.
Fallback = Callable[[str, EventDraft, BaseException], RoomEvent]


@dataclass(slots=True)
class _Queued:
    room: str
    draft: EventDraft
    fragment: bytes
    waiter: asyncio.Future[RoomEvent] | None  # None: posted, nobody waits


class Batcher:
    """Queues messages and publishes them together through `send` (see the module docstring)."""

    def __init__(self, send: Send, fallback: Fallback) -> None:
        self._send = send
        self._fallback = fallback
        self._queued: list[_Queued] = []
        self._flusher: asyncio.Task[None] | None = None
        self._sent: asyncio.Future[None] | None = None  # resolves when what is queued now has been sent
        self._sending: asyncio.Future[None] | None = None  # resolves when the batch in flight has been sent
        self._room_left = asyncio.Event()
        self._room_left.set()

    @property
    def busy(self) -> bool:
        """Messages are queued or in flight: a new one must queue behind them to keep its room's order."""
        return self._flusher is not None

    async def post(self, room: str, draft: EventDraft, fragment: bytes) -> None:
        """Queue one message; wait only while `MAX_QUEUED` are queued already."""
        while len(self._queued) >= MAX_QUEUED:
            self._room_left.clear()
            await self._room_left.wait()
        self._enqueue(_Queued(room, draft, fragment, None))

    async def publish(self, room: str, draft: EventDraft, fragment: bytes) -> RoomEvent:
        """Queue one message and wait for its event (with the `seq` and `ts` Redis gave it)."""
        waiter: asyncio.Future[RoomEvent] = asyncio.get_running_loop().create_future()
        self._enqueue(_Queued(room, draft, fragment, waiter))
        return await waiter

    async def settled(self) -> None:
        """Return once every message queued so far has been sent (or given to `fallback`)."""
        last = self._sent or self._sending
        if last is not None and not last.done():
            await asyncio.shield(last)

    def close(self) -> None:
        """Stop flushing; messages still queued or in flight are dropped, a waiting `publish` fails."""
        if self._flusher is not None:
            self._flusher.cancel()
        queued, self._queued = self._queued, []
        _fail(queued, ConnectionError("the Redis broker closed"))
        for done in (self._sent, self._sending):
            if done is not None and not done.done():
                done.set_result(None)

    def _enqueue(self, item: _Queued) -> None:
        self._queued.append(item)
        if self._sent is None:
            self._sent = asyncio.get_running_loop().create_future()
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush(), name="roomwire-redis-publish")

    async def _flush(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                self._sending, self._sent = self._sent, None
                self._room_left.set()
                try:
                    await self._send_batch(batch)
                except asyncio.CancelledError:
                    _fail(batch, ConnectionError("the Redis broker closed"))
                    raise
                finally:
                    sent, self._sending = self._sending, None
                    if sent is not None and not sent.done():
                        sent.set_result(None)
        finally:
            self._flusher = None

    async def _send_batch(self, batch: list[_Queued]) -> None:
        calls: list[tuple[str, list[bytes]]] = []
        groups: list[list[_Queued]] = []
        by_room: dict[str, list[_Queued]] = {}
        for item in batch:
            if item.waiter is None or not item.waiter.done():  # a `publish` cancelled before it left: dropped
                by_room.setdefault(item.room, []).append(item)
        for room, items in by_room.items():
            for start in range(0, len(items), MAX_PER_SCRIPT):
                group = items[start : start + MAX_PER_SCRIPT]
                calls.append((room, [item.fragment for item in group]))
                groups.append(group)
        if not calls:
            return
        try:
            replies: Sequence[tuple[int, int] | BaseException] = await self._send(calls)
        except Exception as exc:
            replies = [exc] * len(calls)
        for group, reply in zip(groups, replies, strict=True):
            if isinstance(reply, BaseException):
                self._failed(group, reply)
                continue
            first, ts = reply
            for index, item in enumerate(group):
                if item.waiter is not None and not item.waiter.done():
                    draft = item.draft
                    item.waiter.set_result(RoomEvent(
                        room=item.room, kind=draft.kind, seq=first + index, ts=ts, nickname=draft.nickname,
                        content=draft.content, id=draft.id,
                    ))  # fmt: skip

    def _failed(self, group: list[_Queued], exc: BaseException) -> None:
        if not isinstance(exc, LOST):
            log.error("publishing %d messages in room %s failed: %r", len(group), group[0].room, exc)
            _fail(group, exc)
            return
        for item in group:
            event = self._fallback(item.room, item.draft, exc)
            if item.waiter is not None and not item.waiter.done():
                item.waiter.set_result(event)


def _fail(items: Sequence[_Queued], exc: BaseException) -> None:
    for item in items:
        if item.waiter is not None and not item.waiter.done():
            item.waiter.set_exception(exc)
