"""The room registry behind a small interface, so that rooms can live in memory or in Redis.

All room state (the `seq` counter, presence, the resume history) lives behind `Broker`; the WebSocket code only
calls these methods and receives `RoomEvent`s through `Member.deliver`. A broker for several server instances
(Redis) implements the same interface: it assigns `seq` from one shared counter per room, publishes events to
every instance, and delivers them to its local members (SPEC.md §5: `seq` stays per room, not per instance).

The broker owns presence: `join` publishes the member's join and `leave` its leave, each in the same step as the
change of membership, so a join or leave is announced exactly once however the connection ends (PRES-005) and
the connection never has to pair a membership change with a publish of its own.

Ordering contract (CONN-004, CHAT-004): `join` subscribes the member *before* it reads the room's `seq`, so every
event with a greater `seq` reaches the member, its own join first; events may reach it before `join` returns
(the join, or a Redis subscription's), and the member itself holds them back until its welcome is out
(`connection.py`).

    Broker (ABC)
    ├── MemoryBroker        memory.py, one process (memory://)
    └── RedisBroker         redis/broker.py, several processes on one Redis (redis://, rediss://)
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from roomwire.reference.frames import WireFrame
from roomwire.reference.rooms.budget import Budget, LocalBudget
from roomwire.spec.codes import LeaveReason, SystemEvent
from roomwire.spec.messages import ServerUserMsg, System
from roomwire.spec.texts import Lang, event_text, neutral_name


class EventKind(StrEnum):
    USER_MSG = "user_msg"
    JOIN = "join"
    LEAVE = "leave"


@dataclass(slots=True, eq=False)
class RoomEvent:
    """A room event (a `user_msg`, `join` or `leave`) with its `seq`; rendered per language at most once."""

    room: str
    kind: EventKind
    seq: int
    ts: int
    nickname: str | None  # None: the neutral name, in each recipient's language (IDENT-003)
    content: str | None = None
    id: str | None = None
    count: int | None = None
    reason: LeaveReason | None = None
    frames: dict[Lang, WireFrame] = field(default_factory=dict, repr=False)  # by language, filled by `frame`

    def frame(self, lang: Lang) -> WireFrame:
        """The wire frame for recipients reading `lang`; one encoding per language, shared by all of them.

        A chat message under a bound nickname reads the same in every language: it is encoded once, straight from
        the event's fields (the bytes `spec.messages.encode` gives for `ServerUserMsg`; tests/reference/
        test_frames.py compares them), and shared by every language.
        """
        cached = self.frames.get(lang)
        if cached is None:
            if self.kind is EventKind.USER_MSG and self.nickname is not None:
                cached = next(iter(self.frames.values()), None) or self._user_msg(self.nickname)
            elif self.kind is EventKind.USER_MSG:
                cached = WireFrame.of(self._render(lang))
            else:
                cached = self._presence(lang)
            self.frames[lang] = cached
        return cached

    def _user_msg(self, name: str) -> WireFrame:
        """`ServerUserMsg(nickname=name, ...).to_json()` without building the frozen dataclass first."""
        assert self.content is not None
        data: dict[str, object] = {"type": "user_msg", "nickname": name, "content": self.content, "seq": self.seq}
        data["ts"] = self.ts
        if self.id is not None:
            data["id"] = self.id
        return WireFrame.of_json(data, "user_msg")

    def _presence(self, lang: Lang) -> WireFrame:
        """`System.presence(...).to_json()` without building the frozen dataclass (every join of a reconnect storm
        renders one; tests/reference/test_frames.py compares the bytes with `spec.messages.encode`)."""
        event = SystemEvent.JOIN if self.kind is EventKind.JOIN else SystemEvent.LEAVE
        name = self.nickname if self.nickname is not None else neutral_name(lang)
        data: dict[str, object] = {"type": "system", "event": event.value}
        data["content"] = event_text(event, lang, nickname=name)
        data["nickname"], data["seq"], data["ts"] = name, self.seq, self.ts
        if self.count is not None:
            data["count"] = self.count
        if self.reason is not None:
            data["reason"] = self.reason.value
        return WireFrame.of_json(data, "system")

    def _render(self, lang: Lang) -> ServerUserMsg | System:
        name = self.nickname if self.nickname is not None else neutral_name(lang)
        if self.kind is EventKind.USER_MSG:
            assert self.content is not None
            return ServerUserMsg(nickname=name, content=self.content, seq=self.seq, ts=self.ts, id=self.id)
        if self.kind is EventKind.JOIN:
            return System.presence(
                SystemEvent.JOIN, nickname=name, seq=self.seq, ts=self.ts, count=self.count, lang=lang
            )
        return System.presence(
            SystemEvent.LEAVE, nickname=name, seq=self.seq, ts=self.ts, count=self.count, reason=self.reason, lang=lang
        )


@dataclass(frozen=True, slots=True)
class EventDraft:
    """A room event before the broker gives it `seq`, `ts` and (for presence) `count`."""

    kind: EventKind
    nickname: str | None
    content: str | None = None
    id: str | None = None
    reason: LeaveReason | None = None


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Member(Protocol):
    """A local connection subscribed to a room. `deliver` must not block and must not raise."""

    @property
    def nickname(self) -> str | None: ...

    def deliver(self, event: RoomEvent) -> None: ...


@dataclass(frozen=True, slots=True)
class Joined:
    """What a new member learns when it joins: the welcome's `seq` and `members`, and what to replay."""

    seq: int
    members: tuple[str | None, ...]  # None: a member without a nickname (the neutral name)
    replay: tuple[RoomEvent, ...] = ()
    complete: bool = True  # RECON-004: nothing in (since, seq] was missing from what was kept


class RoomFull(Exception):
    """The room has `room_capacity` members (LIMIT-006)."""


class BrokerUnavailable(Exception):
    """The broker cannot serve the request now (a lost Redis connection); the server says `degraded`."""


StateListener = Callable[[bool], None]  # called with True when healthy again, False when degraded


class Broker(ABC):
    """Rooms: membership, presence, `seq`, fan-out and recent history (see the module docstring)."""

    def __init__(self) -> None:
        self._listeners: list[StateListener] = []

    async def start(self) -> None:  # noqa: B027 - optional hook: a memory broker has nothing to connect
        """Connect to the backing store; called once before the first `join`."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release everything; no method is called afterwards."""

    @abstractmethod
    async def join(self, room: str, member: Member, *, capacity: int, since: int | None) -> Joined:
        """Subscribe `member`, add it to the room's presence and publish its join (PRES-001), atomically with
        reading `seq`: `Joined.seq` is the `seq` right before that join, so the join is the first event after
        the welcome, no other event falls between them, and every later event reaches the member (CONN-004).

        Raises:
            RoomFull: the room already has `capacity` members (nothing changed, nothing published).
        """

    @abstractmethod
    async def leave(self, room: str, member: Member, reason: LeaveReason, *, announce: bool = True) -> None:
        """Unsubscribe `member`, remove it from presence and publish its leave with `reason` (PRES-002/003/007).

        Idempotent, and each member's leave is announced once, whoever announces it (PRES-005: a Redis survivor
        may have already). `announce=False` only removes it: the seam of a deliberately broken variant (the
        reference always announces).
        """

    @abstractmethod
    async def rename(self, room: str, member: Member) -> None:
        """`member.nickname` was bound: later `members` lists show it."""

    @abstractmethod
    async def publish(self, room: str, draft: EventDraft) -> RoomEvent:
        """A chat message (`user_msg`): the room's next `seq`, kept for resume, delivered to every member.

        Presence is not published here: `join` and `leave` announce it.
        """

    async def post(self, room: str, draft: EventDraft) -> None:
        """`publish` for a sender that need not wait for the `seq`: the message's place in the room's order is
        taken now, after everything the caller posted before (CHAT-004); delivery may follow later. A broker whose
        `publish` waits for a remote store (Redis) returns sooner, so the sender's next frame is read meanwhile.
        """
        await self.publish(room, draft)

    @abstractmethod
    def stats(self) -> tuple[int, int]:
        """(rooms with members, members) known to this instance."""

    def ai_budget(self, per_minute: int) -> Budget:
        """The server-wide AI budget (LIMIT-005) of everything this broker spans: this process, by default."""
        return LocalBudget(per_minute)

    @property
    def healthy(self) -> bool:
        return True

    @property
    def state(self) -> str:
        """For /healthz: `ok`, or a word saying what is wrong."""
        return "ok" if self.healthy else "degraded"

    def on_state_change(self, listener: StateListener) -> None:
        """Call `listener(healthy)` when the broker loses or regains its backing store."""
        self._listeners.append(listener)

    def _notify(self, healthy: bool) -> None:
        for listener in list(self._listeners):
            listener(healthy)


def kept_range(events: list[RoomEvent], since: int, seq: int) -> tuple[tuple[RoomEvent, ...], bool]:
    """RECON-004: the kept events with since < seq' <= seq, and whether every seq of that range is among them.

    Contiguity is the whole test: an outage leaves a jump in `seq`, a trimmed history starts too late, and both
    make the range incomplete.
    """
    chosen = tuple(event for event in events if since < event.seq <= seq)
    if since >= seq:
        return (), True
    expected = since + 1
    for event in chosen:
        if event.seq != expected:
            return chosen, False
        expected += 1
    return chosen, expected == seq + 1
