"""What one Redis broker instance knows, and every rule that changes it (h11's `_state.py` is the model).

What belongs here: every field of the instance that outlives one Redis command (its id, slot and epoch, its
health, its rooms with their members, delivery order, mirror and outage range) and the rules that change them.
Nothing here does I/O or awaits. The modules that talk to Redis (shared, outage, presence, budget) run commands
through store.py and call these rules with the answers; no other module assigns a field of a class below.

Health, the instance's link to Redis (`Instance.health`):

    STARTING ──started──► HEALTHY ──link_lost──► DEGRADED ──recovered──► HEALTHY
    STARTING ──link_lost──► DEGRADED (`started` then changes nothing: the reconnection finishes the start)
    any ──closing──► CLOSED (a link lost afterwards changes nothing)

- HEALTHY: rooms span instances; every event takes its room's shared counter's `seq`.
- DEGRADED: local rooms only, with `seq`s from the instance's private outage range (`LocalRoom.outage_seq`);
  clients are told `degraded` (SPEC §9) and the broker reconnects. Recovery starts from the heartbeat's
  `Recovery`: OK, REAPED (partitioned for longer than a lease, so survivors announced our members: they are
  evicted and the instance is `reborn` under a new id), or LOST (Redis lost its data: a new epoch; every member
  is stored again, every room's `seq` lifted).

A member of this instance is, in its room:

- shared: registered in the room's hash, so the others know it, and its leave goes through Redis;
- unannounced (`LocalRoom.unannounced`): joined during an outage; only this instance knows it until the
  reconciliation tells the others, and its leave before then stays local;
- evicted (`Instance.evicted`): a survivor announced its leave while we were cut off; it is closed (1012) and
  its own leave stays silent (PRES-005).

A shared member that leaves during an outage stays a pending `Departure` until the reconciliation announces it.

A room's delivery (`LocalRoom`). Every room event reaches this instance through the room's channel (its own
events too), in the order Redis published them, which is `seq` order. `accept` hands an event to every local
member only when it is the next `seq`. A larger one means messages were missed (the subscriber reconnected,
Redis dropped it for a full output buffer, or another instance lifted the counter after an outage): the room
holds later events back and asks for a repair from the room's history list (`on_gap`), then delivers what
history had and what waited, in order; what history no longer has stays a gap, which the client can see
(CHAT-005) and ask for with `since` (RECON-004). So a member never gets an event twice or out of order
(CHAT-004), and a missed message is never skipped silently while Redis still has it. `remote` mirrors the members
of other instances from join, leave and rename messages; during an outage it answers `members` and `count`.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Protocol, runtime_checkable

from roomwire.reference.rooms.broker import EventKind, Member, RoomEvent, kept_range
from roomwire.reference.rooms.redis.codec import Incoming
from roomwire.reference.rooms.redis.scripts import BLOCK, SPAN
from roomwire.spec.codes import CloseCode, LeaveReason

log = logging.getLogger(__name__)


class Health(Enum):
    STARTING = "starting"
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    CLOSED = "closed"


#: Health by event (the module docstring draws it); an event missing here is a bug of ours and raises.
TRANSITIONS: dict[Health, dict[str, Health]] = {
    Health.STARTING: {"started": Health.HEALTHY, "link_lost": Health.DEGRADED, "closing": Health.CLOSED},
    Health.HEALTHY: {"link_lost": Health.DEGRADED, "closing": Health.CLOSED},
    Health.DEGRADED: {
        "started": Health.DEGRADED,  # the link was lost while starting: the reconnection finishes it
        "link_lost": Health.DEGRADED,
        "recovered": Health.HEALTHY,
        "closing": Health.CLOSED,
    },
    Health.CLOSED: {"link_lost": Health.CLOSED, "closing": Health.CLOSED},
}


class Recovery(StrEnum):
    """What the heartbeat says of this instance after a reconnection (scripts.HEARTBEAT)."""

    OK = "ok"
    REAPED = "reaped"
    LOST = "lost"


@runtime_checkable
class Evictable(Protocol):
    """What `Connection` offers besides `Member`: the broker closes a member whose leave others announced."""

    def close_soon(self, code: CloseCode, reason: LeaveReason, *, discard: bool = False) -> None: ...


@dataclass(frozen=True, slots=True)
class Departure:
    """A member's leave: announced at once, or, for a shared member leaving while Redis is lost, pending until
    the reconciliation tells the others."""

    member: str
    nickname: str | None
    reason: LeaveReason
    announce: bool = True  # False: only removed from the room's hash (`Broker.leave(announce=False)`)


def new_id() -> str:
    return secrets.token_hex(6)


class Instance:
    """This instance's identity, health and rooms (see the module docstring)."""

    def __init__(self, *, history: int, on_gap: Callable[[LocalRoom], None]) -> None:
        self.me = new_id()
        self.slot: int | None = None  # its private outage range, once registered (scripts.START)
        self.epoch = ""  # Redis's data generation, as last seen
        self.health = Health.STARTING
        self.connected_at = 0.0  # monotonic time of the last start or recovery
        self.live_instances = 1  # leases in Redis when last counted (the AI budget's share while alone)
        self.rooms: dict[str, LocalRoom] = {}
        self.evicted: set[Member] = set()
        self._history = history
        self._on_gap = on_gap
        self._numbers = itertools.count(1)

    # --- health -----------------------------------------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        return self.health is Health.HEALTHY

    def started(self) -> None:
        """Registered with Redis: rooms span instances (unless the link was lost meanwhile: reconnecting)."""
        self._move("started")

    def link_lost(self) -> bool:
        """The link failed: every room must subscribe again. True when this ends a healthy period (tell clients)."""
        before = self._move("link_lost")
        if self.health is Health.DEGRADED:
            for local in self.rooms.values():
                local.subscribed = False
        return before is Health.HEALTHY

    def recovered(self) -> None:
        self._move("recovered")

    def closing(self) -> bool:
        """No rule applies any more; True when Redis was reachable (the instance then deregisters)."""
        return self._move("closing") is Health.HEALTHY

    def may_reap(self, lease_s: float) -> bool:
        """Only after a whole lease connected: after a Redis restart every instance gets that long to come back."""
        return self.healthy and time.monotonic() - self.connected_at >= lease_s

    def _move(self, event: str) -> Health:
        """Apply `event` by TRANSITIONS; the health before it."""
        before = self.health
        after = TRANSITIONS[before].get(event)
        if after is None:
            raise RuntimeError(f"instance {self.me}: `{event}` cannot happen while {before.value}")
        self.health = after
        if after is Health.HEALTHY and before is not Health.HEALTHY:
            self.connected_at = time.monotonic()
        return before

    # --- identity ---------------------------------------------------------------------------------------------

    def registered(self, epoch: str, slot: int) -> bool:
        """The lease is taken (scripts.START); True when Redis's epoch changed, i.e. it lost its data."""
        changed = bool(self.epoch) and epoch != self.epoch
        self.epoch, self.slot = epoch, slot
        return changed

    def counted(self, instances: int) -> None:
        self.live_instances = max(1, instances)

    def reborn(self) -> None:
        """Survivors announced our shared members as left: evict them; keep the unannounced ones, renamed under
        a new instance id (the old one's members are all gone from Redis)."""
        old, self.me = self.me, new_id()
        log.warning("instance %s was taken for dead while cut off from Redis; it is %s now", old, self.me)
        for local in self.rooms.values():
            local.me = self.me
            for member, member_id in list(local.members.items()):
                if member_id not in local.unannounced:
                    self.evict(local, member)
                    continue
                local.remove(member)
                local.unannounced.discard(member_id)
                renamed = self.member_id()
                local.add(member, renamed)
                local.joined_alone(renamed)

    # --- members ----------------------------------------------------------------------------------------------

    def member_id(self) -> str:
        return f"{self.me}.{next(self._numbers)}"

    def room(self, name: str) -> LocalRoom:
        local = self.rooms.get(name)
        if local is None:
            local = self.rooms[name] = LocalRoom(name, self._history, self.me, self.evict, self._on_gap)
        return local

    def leaving(self, room: str, member: Member) -> tuple[LocalRoom, str, bool] | None:
        """Stop delivering to `member`: its room, id, and whether the others know it (its leave goes through
        Redis). None when there is nothing to announce: not a member, or evicted (a survivor announced it)."""
        if member in self.evicted:
            self.evicted.discard(member)
            return None
        local = self.rooms.get(room)
        member_id = local.remove(member) if local is not None else None
        if local is None or member_id is None:
            return None
        if member_id in local.unannounced:
            local.unannounced.discard(member_id)
            return local, member_id, False
        return local, member_id, True

    def evict(self, local: LocalRoom, member: Member) -> None:
        """Its leave was announced by another instance while we were cut off: it receives nothing more and is
        closed (1012, so that the client reconnects and resumes with `since`)."""
        if local.remove(member) is None:
            return
        self.evicted.add(member)
        if isinstance(member, Evictable):
            member.close_soon(CloseCode.SERVICE_RESTART, LeaveReason.SERVER)

    def forget_idle(self, names: Iterable[str]) -> list[str]:
        """Forget the rooms of `names` that are still idle; the ones that were subscribed, to unsubscribe."""
        subscribed = []
        for name in names:
            local = self.rooms.get(name)
            if local is not None and local.idle:
                del self.rooms[name]
                if local.subscribed:
                    subscribed.append(name)
        return subscribed

    def stats(self) -> tuple[int, int]:
        members = [len(local.members) for local in self.rooms.values()]
        return sum(1 for n in members if n), sum(members)


class LocalRoom:
    """This instance's state of one room (see the module docstring)."""

    def __init__(
        self,
        name: str,
        history: int,
        me: str,
        on_foreign_leave: Callable[[LocalRoom, Member], None],
        on_gap: Callable[[LocalRoom], None],
    ) -> None:
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
        self.pending_leaves: list[Departure] = []  # left during an outage: to tell the others
        self._on_foreign_leave = on_foreign_leave
        self._on_gap = on_gap

    # --- membership -------------------------------------------------------------------------------------------

    def add(self, member: Member, member_id: str) -> None:
        self.members[member] = member_id
        self.ids[member_id] = member
        self.snapshot = tuple(self.members)

    def joined_alone(self, member_id: str) -> None:
        """The member joined while Redis is lost: only this instance knows it, until the reconciliation."""
        self.unannounced.add(member_id)

    def announced_elsewhere(self, member_id: str) -> None:
        """A survivor announced this member's leave while we were cut off: it is evicted (PRES-005)."""
        member = self.ids.get(member_id)
        if member is not None:
            self._on_foreign_leave(self, member)

    def mirror_members(self, members: Iterable[tuple[str, str | None]]) -> tuple[str | None, ...]:
        """The room's members as Redis lists them (id, nickname): the mirror takes the others'; their names."""
        self.remote.clear()
        names = []
        for member_id, nickname in members:
            names.append(nickname)
            if member_id not in self.ids:
                self.remote[member_id] = nickname
        return tuple(names)

    def announced(self, member_id: str) -> None:
        """The reconciliation told the others of an outage join."""
        self.unannounced.discard(member_id)

    def left_meanwhile(self, leave: Departure) -> None:
        """A shared member left while Redis is lost: the reconciliation tells the others."""
        self.pending_leaves.append(leave)

    def told(self, leave: Departure) -> None:
        """The reconciliation told the others of `leave` (the oldest pending one)."""
        assert self.pending_leaves[0] is leave
        self.pending_leaves.pop(0)

    def remove(self, member: Member) -> str | None:
        member_id = self.members.pop(member, None)
        if member_id is not None:
            del self.ids[member_id]
            self.snapshot = tuple(self.members)
            if not self.members:
                self._nobody_left()
        return member_id

    def _nobody_left(self) -> None:
        """The last local member left: where delivery stood no longer matters, and may be wrong by the next join
        (Redis forgets a room that stays empty, RECON-005, and its `seq` starts again from 0). The next join's
        `start` sets it again; events meanwhile are for nobody here."""
        self.delivered = None
        self.buffer.clear()
        self.recent.clear()

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

    def accept(self, item: Incoming) -> None:
        """Take one message from the channel (a gap before it asks for a repair from history: `on_gap`)."""
        if item.event is None:
            self._mirror(item)
        elif not self.members:
            return  # nobody here to deliver to; a join reads the room afresh (and adds its member first)
        elif self.delivered is None or self.holding:
            self.buffer.append(item)
        elif self._take(item):
            self._on_gap(self)

    def start(self, seq: int) -> None:
        """The room's seq as a join read it: events up to it are not for this instance's members."""
        if self.delivered is None:
            self.delivered = seq
            if seq < self.shared:  # Redis forgot the room (empty too long, RECON-005) and began it again
                self.shared = seq
                self._since_join(seq + 1)
        self.shared = max(self.shared, seq)
        if not self.holding and self._drain():
            self._on_gap(self)

    def _since_join(self, join: int) -> None:
        """Keep what arrived from the join at `join` on: the channel brings events in publish order, so whatever
        came before it was published in the room's previous life, with `seq`s that mean nothing now."""
        for index, item in enumerate(self.buffer):
            if item.seq == join:
                del self.buffer[:index]
                return
        self.buffer.clear()

    def subscribed_now(self) -> None:
        """Redis confirmed the room's channel: every event published from now on reaches this instance."""
        self.subscribed = True

    def hold(self) -> None:
        """A reconciliation begins: events wait in `buffer` until `release`."""
        self.holding = True

    def release(self, extra: Iterable[Incoming]) -> None:
        """After a repair: deliver what history had and what waited, in seq order; gaps that remain are loss."""
        items = sorted([*self.buffer, *extra], key=lambda item: item.seq)
        self.buffer, self.holding = [], False
        if self.delivered is None and not self.members:
            return  # nobody to deliver to; the next join starts from its own `seq`
        if self.delivered is None:
            self.delivered = 0
        for item in items:
            if item.event is not None and item.seq > self.delivered:
                self._deliver(item)

    def _take(self, item: Incoming) -> bool:
        """Deliver the next seq; True when `item` comes after a gap (held, and a repair is due)."""
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
        self._to_members(event)

    def _to_members(self, event: RoomEvent) -> None:
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
        if member_id in self.ids:
            if item.event is not None and item.event.kind is EventKind.LEAVE:
                self.announced_elsewhere(member_id)
            return
        if item.event is None or item.event.kind is EventKind.JOIN:
            self.remote[member_id] = item.nickname
        elif item.event.kind is EventKind.LEAVE:
            self.remote.pop(member_id, None)

    # --- outage -----------------------------------------------------------------------------------------------

    def welcome_seq_alone(self) -> int:
        """The welcome's `seq` of a join while Redis is lost: what was delivered here (all this instance knows)."""
        if self.delivered is None:  # the last outage seq given here, if any (the room was left meanwhile)
            self.delivered = self.shared if self.outage_next is None else self.outage_next - 1
            self.release(())
        return self.delivered

    def deliver_alone(self, event: RoomEvent) -> None:
        """An event with an outage `seq`, to this instance's members only."""
        if self.members:
            self.delivered = event.seq
        self._to_members(event)

    def lifted(self, counter: int) -> None:
        """The reconciliation lifted the shared counter past every outage range (scripts.JUMP)."""
        self.shared = max(self.shared, counter)
        self.outage_next = None

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
