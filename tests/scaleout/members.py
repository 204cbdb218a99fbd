"""Brokers on one real Redis, and members that record what they receive, for the broker-level tests.

`brokers(url, n)` starts `n` `RedisBroker`s (n "instances" in one process) and closes them after the block, also
when the test fails. A `Recorder` is a `broker.Member` that keeps every event and every close; `Notices`
records the broker's health changes (what the hub turns into `degraded` / `restored`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from roomwire.reference.rooms.broker import EventDraft, EventKind, Joined, RoomEvent
from roomwire.reference.rooms.redis.broker import RedisBroker
from roomwire.reference.rooms.redis.config import RedisOptions
from roomwire.spec.codes import CloseCode, LeaveReason
from tests.support.timing import UNIT

FAST = "lease=3&timeout=1&backoff=1"  # leases a test outlives, yet long enough for a busy CI machine


@dataclass(eq=False)
class Recorder:
    """A member of one room: what it was sent, and whether the broker closed it."""

    nickname: str | None
    events: list[RoomEvent] = field(default_factory=list)
    closed: tuple[CloseCode, LeaveReason] | None = None

    def deliver(self, event: RoomEvent) -> None:
        self.events.append(event)

    def close_soon(self, code: CloseCode, reason: LeaveReason, *, discard: bool = False) -> None:
        self.closed = (code, reason)

    def closing(self) -> tuple[CloseCode, LeaveReason] | None:
        """`closed`, read through a call (mypy does not carry a narrowed attribute across awaits)."""
        return self.closed

    def seqs(self) -> list[int]:
        return [event.seq for event in self.events]

    def said(self) -> list[str | None]:
        return [event.content for event in self.events if event.kind is EventKind.USER_MSG]

    def presence(self, kind: EventKind) -> list[str | None]:
        return [event.nickname for event in self.events if event.kind is kind]


class Notices:
    """The health listener: False for `degraded`, True for `restored`, in order."""

    def __init__(self, broker: RedisBroker) -> None:
        self.seen: list[bool] = []
        broker.on_state_change(self.seen.append)


def options(url: str, extra: str = FAST) -> RedisOptions:
    return RedisOptions.from_url(f"{url}?{extra}" if extra else url)


@contextlib.asynccontextmanager
async def brokers(*urls: str, extra: str = FAST, history: int = 100) -> AsyncIterator[list[RedisBroker]]:
    started: list[RedisBroker] = []
    try:
        for url in urls:
            broker = RedisBroker(options(url, extra), history=history)
            await broker.start()
            started.append(broker)
        yield started
    finally:
        for broker in started:
            await broker.close()


async def enter(broker: RedisBroker, room: str, member: Recorder, *, since: int | None = None) -> Joined:
    """What `Connection.enter` does: join (the broker announces the join)."""
    return await broker.join(room, member, capacity=100, since=since)


async def depart(broker: RedisBroker, room: str, member: Recorder, reason: LeaveReason = LeaveReason.CLOSE) -> None:
    """What `Connection.announce_leave` does: leave (the broker announces the leave)."""
    await broker.leave(room, member, reason)


async def say(broker: RedisBroker, room: str, nickname: str, content: str) -> RoomEvent:
    return await broker.publish(room, EventDraft(EventKind.USER_MSG, nickname=nickname, content=content))


async def eventually(check: Callable[[], bool], within: float = 2 * UNIT, what: str = "the condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not hold within {within} s")
        await asyncio.sleep(0.02)
