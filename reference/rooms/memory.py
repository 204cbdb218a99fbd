"""Rooms in one process's memory (`memory://`): the default broker.

Every method runs without awaiting anything, so on one event loop each one is atomic: `join` subscribes, reads
`seq` and publishes the join in the same step, `leave` unsubscribes and publishes the leave, and `publish`
assigns `seq` and delivers to every member before any other code runs (CHAT-004: every member sees the same
order). Delivery is a plain loop over a tuple snapshot of the members,
rebuilt only when membership changes; one member's failure never stops delivery to the others (seed failure 3).

A room whose last member left keeps its `seq` and history for a while (the newest `EMPTY_ROOMS_KEPT` empty rooms),
so a client that reconnects with `since` after everyone left still finds its place; older empty rooms are
forgotten, which bounds memory whatever room names clients invent.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque

from roomwire.reference.rooms.broker import (
    Broker,
    EventDraft,
    EventKind,
    Joined,
    Member,
    RoomEvent,
    RoomFull,
    kept_range,
    now_ms,
)
from roomwire.spec.codes import LeaveReason

log = logging.getLogger(__name__)

EMPTY_ROOMS_KEPT = 1000


class _Room:
    __slots__ = ("seq", "members", "snapshot", "history")

    def __init__(self, history: int) -> None:
        self.seq = 0
        self.members: dict[Member, None] = {}  # insertion-ordered set
        self.snapshot: tuple[Member, ...] = ()
        self.history: deque[RoomEvent] = deque(maxlen=history)

    def changed(self) -> None:
        self.snapshot = tuple(self.members)

    def replay(self, since: int) -> tuple[tuple[RoomEvent, ...], bool]:
        """RECON-004: kept events with since < seq <= self.seq, and whether none in that range is missing."""
        return kept_range(list(self.history), since, self.seq)


class MemoryBroker(Broker):
    """`Broker` for one process."""

    def __init__(self, *, history: int = 100) -> None:
        super().__init__()
        self._history = history
        self._rooms: dict[str, _Room] = {}
        self._empty: OrderedDict[str, _Room] = OrderedDict()
        self._members = 0

    def _room(self, name: str) -> _Room:
        room = self._rooms.get(name)
        if room is None:
            room = self._empty.pop(name, None) or _Room(self._history)
            self._rooms[name] = room
        return room

    async def join(self, room: str, member: Member, *, capacity: int, since: int | None) -> Joined:
        state = self._room(room)
        if len(state.members) >= capacity:
            self._forget_if_empty(room, state)
            raise RoomFull(room)
        state.members[member] = None
        state.changed()
        self._members += 1
        members = tuple(m.nickname for m in state.snapshot)
        replay, complete = state.replay(since) if since is not None else ((), True)
        joined = Joined(seq=state.seq, members=members, replay=replay, complete=complete)
        self._emit(room, state, EventDraft(EventKind.JOIN, nickname=member.nickname))  # PRES-001: seq + 1
        return joined

    async def leave(self, room: str, member: Member, reason: LeaveReason, *, announce: bool = True) -> None:
        state = self._rooms.get(room)
        if state is None or member not in state.members:
            return
        del state.members[member]
        state.changed()
        self._members -= 1
        if announce:
            self._emit(room, state, EventDraft(EventKind.LEAVE, nickname=member.nickname, reason=reason))
        self._forget_if_empty(room, state)

    def _forget_if_empty(self, room: str, state: _Room) -> None:
        if state.members:
            return
        del self._rooms[room]
        self._empty[room] = state
        while len(self._empty) > EMPTY_ROOMS_KEPT:
            self._empty.popitem(last=False)

    async def rename(self, room: str, member: Member) -> None:
        """Presence reads `member.nickname` whenever it lists members, so there is nothing to store."""

    async def publish(self, room: str, draft: EventDraft) -> RoomEvent:
        state = self._room(room)
        event = self._emit(room, state, draft)
        if not state.members:
            self._forget_if_empty(room, state)
        return event

    def _emit(self, room: str, state: _Room, draft: EventDraft) -> RoomEvent:
        """The next `seq`, the history, and delivery to every member, in one step (nothing awaits)."""
        state.seq += 1
        count = len(state.members) if draft.kind is not EventKind.USER_MSG else None
        event = RoomEvent(
            room=room,
            kind=draft.kind,
            seq=state.seq,
            ts=now_ms(),
            nickname=draft.nickname,
            content=draft.content,
            id=draft.id,
            count=count,
            reason=draft.reason,
        )
        if self._history:
            state.history.append(event)
        for member in state.snapshot:
            try:
                member.deliver(event)
            except Exception:  # a bug in one member must not stop the room (seed failure 3)
                log.exception("delivery to one member failed; the others still get the event")
        return event

    def stats(self) -> tuple[int, int]:
        return len(self._rooms), self._members
