"""One room as this instance sees it: its local members, delivery in `seq` order, and its outage state.

Delivery. Every room event reaches this instance through the room's channel (its own events too), in the order
Redis published them, which is `seq` order (the Lua scripts). `accept` hands an event to every local member
only when it is the next `seq`. A larger one means messages were missed (the subscriber reconnected, Redis
dropped it for a full output buffer, or another instance lifted the counter after an outage): the room holds
later events back and asks the broker to `repair` from the room's history list, then delivers what history had
and what waited, in order; what history no longer has stays a gap, which the client can see (CHAT-005) and ask
for with `since` (RECON-004). So a member never gets an event twice or out of order (CHAT-004), and a missed
message is never skipped silently while Redis still has it.

Mirror. `remote` copies the members of other instances from join, leave and rename messages; during an outage
it answers `members` and `count` from the last known state.

Outage. While Redis is lost, this instance still delivers its own members' events locally with `seq`s from its
private range (`outage_seq`, see broker.py), and remembers what to tell the others when Redis is back.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from roomwire.reference.rooms.broker import EventKind, Member, RoomEvent
from roomwire.reference.rooms.redis.codec import Incoming
from roomwire.reference.rooms.redis.scripts import BLOCK, SPAN
from roomwire.spec.codes import LeaveReason

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PendingLeave:
    """A member the other instances know, that left while Redis was lost: they learn it afterwards."""

    member: str
    nickname: str | None
    reason: LeaveReason
    announce: bool = True  # False: only removed from the room's hash (`Broker.leave(announce=False)`)


class LocalRoom:
    """This instance's state of one room (see the module docstring)."""

    def __init__(self, name: str, history: int, me: str, on_foreign_leave: Callable[[LocalRoom, Member], None]) -> None:
        self.name = name
        self.me = me
        self.members: dict[Member, str] = {}  # local member -> member id
        self.ids: dict[str, Member] = {}
        self.snapshot: tuple[Member, ...] = ()
        self.remote: dict[str, str | None] = {}  # member id -> nickname, members of other instances
        self.delivered: int | None = None  # the last seq delivered here; None: not known yet, hold everything
        self.shared = 0  # the highest seq known to come from the shared counter
        self.holding = False  # a repair or a reconciliation runs: hold events in `buffer`
        self.buffer: list[Incoming] = []
        self.recent: deque[RoomEvent] = deque(maxlen=history)  # resume during an outage
        self.subscribed = False
        self.outage_next: int | None = None  # the next outage seq; None: no outage seq used since the last jump
        self.outage_end = 0
        self.unannounced: set[str] = set()  # joined during an outage: other instances have not been told
        self.pending_leaves: list[PendingLeave] = []  # left during an outage: to tell the others
        self._on_foreign_leave = on_foreign_leave

    # --- membership -------------------------------------------------------------------------------------------

    def add(self, member: Member, member_id: str) -> None:
        self.members[member] = member_id
        self.ids[member_id] = member
        self.snapshot = tuple(self.members)

    def remove(self, member: Member) -> str | None:
        member_id = self.members.pop(member, None)
        if member_id is not None:
            del self.ids[member_id]
            self.snapshot = tuple(self.members)
        return member_id

    @property
    def dirty(self) -> bool:
        """Something of an outage is still to be told to Redis (outage.reconcile)."""
        return bool(self.pending_leaves or self.unannounced) or self.outage_next is not None

    @property
    def idle(self) -> bool:
        """No local member and nothing left to reconcile: the room can be forgotten here."""
        return not self.members and not self.dirty

    @property
    def count(self) -> int:
        return len(self.members) + len(self.remote)

    def names(self) -> tuple[str | None, ...]:
        return tuple(m.nickname for m in self.snapshot) + tuple(self.remote.values())

    # --- delivery in seq order --------------------------------------------------------------------------------

    def accept(self, item: Incoming) -> bool:
        """Take one message from the channel; True when a gap needs a repair from history."""
        if item.event is None:
            self._mirror(item)
            return False
        if self.delivered is None or self.holding:
            self.buffer.append(item)
            return False
        return self._take(item)

    def start(self, seq: int) -> bool:
        """The room's seq as a join read it: events up to it are not for this instance's members."""
        if self.delivered is None:
            self.delivered = seq
        self.shared = max(self.shared, seq)
        return False if self.holding else self._drain()

    def release(self, extra: Iterable[Incoming]) -> None:
        """After a repair: deliver what history had and what waited, in seq order; gaps that remain are loss."""
        items = sorted([*self.buffer, *extra], key=lambda item: item.seq)
        self.buffer, self.holding = [], False
        if self.delivered is None:
            self.delivered = 0
        for item in items:
            if item.event is not None and item.seq > self.delivered:
                self._deliver(item)

    def _take(self, item: Incoming) -> bool:
        assert self.delivered is not None
        if item.seq <= self.delivered:
            return False  # already delivered (history and channel overlap): CHAT-004, at most once
        if item.seq == self.delivered + 1:
            self._deliver(item)
            return False
        self.holding = True
        self.buffer.append(item)
        return True

    def _drain(self) -> bool:
        items = sorted(self.buffer, key=lambda item: item.seq)
        self.buffer = []
        for index, item in enumerate(items):
            if self._take(item):
                self.buffer.extend(items[index + 1 :])
                return True
        return False

    def _deliver(self, item: Incoming) -> None:
        event = item.event
        assert event is not None
        self.delivered = event.seq
        self.shared = max(self.shared, event.seq)
        self._mirror(item)
        if item.quiet and item.origin == self.me:
            return  # this instance delivered it during the outage already (PRES-005: one join, one leave)
        self.deliver(event)

    def deliver(self, event: RoomEvent) -> None:
        """Hand `event` to every local member; one member's failure never stops the others (seed failure 3)."""
        self.recent.append(event)
        for member in self.snapshot:
            try:
                member.deliver(event)
            except Exception:
                log.exception("delivery to one member failed; the others still get the event")

    def _mirror(self, item: Incoming) -> None:
        member_id = item.member
        if member_id is None:
            return
        local = self.ids.get(member_id)
        if local is not None:
            event = item.event
            if event is not None and event.kind is EventKind.LEAVE:
                self._on_foreign_leave(self, local)  # announced by a survivor while we were cut off
            return
        if item.event is None or item.event.kind is EventKind.JOIN:
            self.remote[member_id] = item.nickname
        elif item.event.kind is EventKind.LEAVE:
            self.remote.pop(member_id, None)

    # --- outage -----------------------------------------------------------------------------------------------

    def outage_seq(self, slot: int) -> int | None:
        """The next seq of this instance's private outage range, or None when the range is used up."""
        if self.outage_next is None:
            self.outage_next = (self.shared // BLOCK + 1) * BLOCK + slot * SPAN + 1
            self.outage_end = self.outage_next + SPAN - 2
        if self.outage_next > self.outage_end:
            return None
        seq = self.outage_next
        self.outage_next += 1
        return seq

    def replay(self, since: int, seq: int) -> tuple[tuple[RoomEvent, ...], bool]:
        """RECON-004 from what this instance delivered (during an outage)."""
        return kept_range(list(self.recent), since, seq)


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
