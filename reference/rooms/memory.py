"""Rooms in one process's memory (`memory://`): the default broker.

Every method runs without awaiting anything, so on one event loop each one is atomic: `join` subscribes, reads
`seq` and publishes the join in the same step, `leave` unsubscribes and publishes the leave, and `publish`
assigns `seq` and delivers to every member before any other code runs (CHAT-004: every member sees the same
order). Delivery is a plain loop over a tuple snapshot of the members,
rebuilt only when membership changes; one member's failure never stops delivery to the others (seed failure 3).

A room whose last member left keeps its `seq` and history for a while, so a client that reconnects with `since`
after everyone left still finds its place: for `empty_room_ttl_s` after it emptied, and only the `empty_rooms_kept`
most recently emptied rooms; then it is forgotten (RECON-005). Its kept events count against the ledger's byte
budget all along (history.py), so memory stays bounded whatever room names and events clients invent. Expiry is
checked on every call, from the oldest empty room: no timer, and nothing to expire while nothing happens.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable

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
from roomwire.reference.rooms.history import HistoryLedger, RoomHistory
from roomwire.spec.codes import LeaveReason
from roomwire.spec.texts import Lang

log = logging.getLogger(__name__)

#: RECON-005's defaults (Settings carries them; the broker's own defaults are the same numbers).
HISTORY_BYTES = 64 * 1024 * 1024
EMPTY_ROOM_TTL_S = 300.0
EMPTY_ROOMS_KEPT = 1000
_LANGS = tuple(Lang)  # iterating the enum itself costs a call into `EnumType.__iter__` per event


class _Room:
    __slots__ = ("seq", "members", "snapshot", "history")

    def __init__(self) -> None:
        self.seq = 0
        self.members: dict[Member, None] = {}  # insertion-ordered set
        self.snapshot: tuple[Member, ...] = ()
        self.history = RoomHistory()

    def changed(self) -> None:
        self.snapshot = tuple(self.members)

    def replay(self, since: int) -> tuple[tuple[RoomEvent, ...], bool]:
        """RECON-004: kept events with since < seq <= self.seq, and whether none in that range is missing."""
        return kept_range(self.history.events(), since, self.seq)


class MemoryBroker(Broker):
    """`Broker` for one process; `history` events per room, `history_bytes` for all (RECON-004, RECON-005)."""

    def __init__(
        self,
        *,
        history: int = 100,
        history_bytes: int = HISTORY_BYTES,
        empty_room_ttl_s: float = EMPTY_ROOM_TTL_S,
        empty_rooms_kept: int = EMPTY_ROOMS_KEPT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.ledger = HistoryLedger(per_room=history, max_bytes=history_bytes)
        self._empty_ttl = empty_room_ttl_s
        self._empty_kept = empty_rooms_kept
        self._clock = clock
        self._rooms: dict[str, _Room] = {}
        self._empty: OrderedDict[str, tuple[_Room, float]] = OrderedDict()  # by when they emptied, oldest first
        self._members = 0

    def _room(self, name: str) -> _Room:
        self._expire()
        room = self._rooms.get(name)
        if room is None:
            kept = self._empty.pop(name, None)
            room = kept[0] if kept is not None else _Room()
            self._rooms[name] = room
        return room

    def _expire(self) -> None:
        """RECON-005: forget the empty rooms past their time or beyond the count, oldest first."""
        if not self._empty:
            return
        deadline = self._clock() - self._empty_ttl
        while self._empty:
            room, emptied = next(iter(self._empty.values()))
            if emptied > deadline and len(self._empty) <= self._empty_kept:
                return
            self._empty.popitem(last=False)
            self.ledger.drop(room.history)

    @property
    def empty_rooms(self) -> int:
        """Empty rooms still remembered (their `seq` and history)."""
        self._expire()
        return len(self._empty)

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
        self._empty[room] = (state, self._clock())
        self._expire()

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
        if self.ledger.per_room:
            for lang in _LANGS:  # render now what a replay sends, so that its cost is known when it is kept
                event.frame(lang)
            self.ledger.keep(state.history, event)
        for member in state.snapshot:
            try:
                member.deliver(event)
            except Exception:  # a bug in one member must not stop the room (seed failure 3)
                log.exception("delivery to one member failed; the others still get the event")
        return event

    def stats(self) -> tuple[int, int]:
        self._expire()
        return len(self._rooms), self._members
