"""The Redis broker's state without Redis (state.py): the instance's rules, and each room's delivery in seq order,
gap repair, presence mirror, outage seqs and resume ranges."""

from __future__ import annotations

import pytest

from roomwire.reference.rooms.broker import EventKind, Member, RoomEvent, kept_range
from roomwire.reference.rooms.redis.codec import Incoming
from roomwire.reference.rooms.redis.scripts import BLOCK, SPAN
from roomwire.reference.rooms.redis.state import TRANSITIONS, Health, Instance, LocalRoom
from roomwire.spec.codes import CloseCode, LeaveReason
from tests.scaleout.members import Recorder


def message(seq: int, *, kind: EventKind = EventKind.USER_MSG, member: str | None = None, **extra: object) -> Incoming:
    event = RoomEvent(room="r", kind=kind, seq=seq, ts=0, nickname="n", content=f"m{seq}")
    return Incoming(event, member, "n", extra.get("origin"), bool(extra.get("quiet")))  # type: ignore[arg-type]


class Room:
    """A LocalRoom whose gap repairs and evictions are recorded."""

    def __init__(self, *members: Recorder, evict: bool = False) -> None:
        self.gaps = 0
        self.evicted: list[Member] = []
        self.local = LocalRoom("r", 100, "me", self._evict if evict else self._note, self._gap)
        for n, member in enumerate(members):
            self.local.add(member, f"me.{n + 1}")

    def _gap(self, _: LocalRoom) -> None:
        self.gaps += 1

    def _note(self, _: LocalRoom, member: Member) -> None:
        self.evicted.append(member)

    def _evict(self, room: LocalRoom, member: Member) -> None:
        self.evicted.append(member)
        room.remove(member)


def test_events_wait_for_the_join_seq_then_flow_in_order() -> None:
    ann = Recorder("ann")
    room = Room(ann)
    room.local.accept(message(5))
    assert ann.seqs() == []  # before `start`: held
    room.local.start(4)
    assert ann.seqs() == [5]
    room.local.accept(message(5))  # at most once (CHAT-004)
    room.local.accept(message(6))
    assert ann.seqs() == [5, 6] and room.gaps == 0


def test_a_gap_holds_later_events_until_history_repairs_it() -> None:
    ann = Recorder("ann")
    room = Room(ann)
    room.local.start(1)
    room.local.accept(message(4))  # 2 and 3 missing: ask for a repair
    assert room.gaps == 1
    room.local.accept(message(5))
    assert ann.seqs() == [] and room.gaps == 1  # held meanwhile, one repair
    room.local.release([message(1), message(2), message(3), message(4)])  # history overlaps: no repeats
    assert ann.seqs() == [2, 3, 4, 5] and not room.local.holding


def test_what_history_no_longer_has_stays_a_visible_gap() -> None:
    ann = Recorder("ann")
    room = Room(ann)
    room.local.start(1)
    room.local.accept(message(9))
    room.local.release([])
    assert ann.seqs() == [9]


def test_a_gap_at_start_is_repaired_too() -> None:
    room = Room(Recorder("ann"))
    room.local.accept(message(7))
    room.local.start(5)  # 6 is missing
    assert room.gaps == 1


def test_the_mirror_follows_joins_leaves_and_renames_of_other_instances() -> None:
    ann = Recorder("ann")
    room = Room(ann)
    room.local.start(0)
    room.local.accept(message(1, kind=EventKind.JOIN, member="other.1"))
    room.local.accept(Incoming(None, "other.1", "renamed", None, False))
    assert room.local.remote == {"other.1": "renamed"} and room.local.count == 2
    assert room.local.names() == ("ann", "renamed")
    room.local.accept(message(2, kind=EventKind.LEAVE, member="other.1"))
    assert room.local.remote == {} and room.evicted == []
    names = room.local.mirror_members([("me.1", "ann"), ("other.2", None)])  # as a join reads the hash
    assert names == ("ann", None) and room.local.remote == {"other.2": None}


def test_a_leave_of_a_local_member_announced_elsewhere_evicts_it_before_delivery() -> None:
    ann, amy = Recorder("ann"), Recorder("amy")
    room = Room(ann, amy, evict=True)
    room.local.start(0)
    room.local.accept(message(1, kind=EventKind.LEAVE, member="me.1"))
    assert room.evicted == [ann] and ann.seqs() == [] and amy.seqs() == [1]  # PRES-005: it receives nothing more
    room.local.announced_elsewhere("me.2")  # found gone from the hash at a reconciliation
    room.local.announced_elsewhere("me.9")  # not ours (any more): nothing happens
    assert room.evicted == [ann, amy]


def test_quiet_events_of_this_instance_advance_seq_without_a_second_delivery() -> None:
    ann = Recorder("ann")
    room = Room(ann)
    room.local.start(0)
    room.local.accept(message(1, origin="me", quiet=True))
    room.local.accept(message(2, origin="other", quiet=True))
    assert ann.seqs() == [2] and room.local.delivered == 2


def test_outage_seqs_sit_above_the_shared_counter_in_the_slot_range() -> None:
    local = Room().local
    local.start(41)
    first = local.outage_seq(slot=3)
    assert first == BLOCK + 3 * SPAN + 1 and local.outage_seq(slot=3) == first + 1
    assert local.dirty and not local.idle
    local.lifted(3 * BLOCK)
    assert (local.shared, local.dirty) == (3 * BLOCK, False)
    local.outage_seq(slot=3)
    local.outage_next = local.outage_end + 1
    assert local.outage_seq(slot=3) is None  # the range is used up


def test_a_join_alone_is_welcomed_with_what_was_delivered_here() -> None:
    ann = Recorder("ann")
    room = Room(ann)
    room.local.accept(message(3))
    assert room.local.welcome_seq_alone() == 3  # nothing shared known: what was held is delivered first
    assert ann.seqs() == [3]


def test_one_member_failing_does_not_stop_the_others() -> None:
    class Broken(Recorder):
        def deliver(self, event: RoomEvent) -> None:
            raise RuntimeError("a bug in one member")

    ann = Recorder("ann")
    room = Room(Broken("x"), ann)
    room.local.start(0)
    room.local.accept(message(1))
    assert ann.seqs() == [1]


def test_kept_range_is_complete_only_when_contiguous() -> None:
    events = [message(seq).event for seq in (3, 4, 5, 9)]
    kept = [e for e in events if e is not None]
    assert kept_range(kept, 2, 5) == (tuple(kept[:3]), True)
    assert kept_range(kept, 1, 5)[1] is False  # 2 was trimmed
    assert kept_range(kept, 4, 9) == ((kept[2], kept[3]), False)  # 6..8 never kept (an outage jump)
    assert kept_range(kept, 9, 9) == ((), True) and kept_range(kept, 12, 9) == ((), True)
    assert kept_range(kept, 5, 6) == ((), False)


# --- the instance -------------------------------------------------------------------------------------------------


def instance() -> Instance:
    return Instance(history=10, on_gap=lambda _: None)


def test_health_moves_only_as_the_table_says() -> None:
    me = instance()
    assert (me.health, me.healthy) == (Health.STARTING, False)
    me.started()
    assert me.healthy and me.may_reap(0) and not me.may_reap(60)
    me.room("r").subscribed_now()
    assert me.link_lost() and not me.room("r").subscribed  # tell the clients once, subscribe again later
    assert (me.link_lost(), me.health) == (False, Health.DEGRADED)
    with pytest.raises(RuntimeError, match="`recovered` cannot happen while healthy"):
        me.recovered()
        me.recovered()
    assert (me.closing(), me.link_lost(), me.health) == (True, False, Health.CLOSED)  # healthy: it deregisters
    assert all("closing" in events for events in TRANSITIONS.values())


def test_a_link_lost_while_starting_leaves_the_start_to_the_reconnection() -> None:
    me = instance()
    assert not me.link_lost()
    me.started()
    assert me.health == Health.DEGRADED
    me.recovered()
    assert me.healthy and me.closing()


def test_a_new_epoch_means_redis_lost_its_data() -> None:
    me = instance()
    assert not me.registered("e1", 3) and (me.epoch, me.slot) == ("e1", 3)
    assert not me.registered("e1", 3) and me.registered("e2", 3)
    me.counted(0)
    assert me.live_instances == 1


def test_a_leave_goes_through_redis_only_for_members_the_others_know() -> None:
    me = instance()
    shared, alone, evicted = Recorder("s"), Recorder("a"), Recorder("e")
    local = me.room("r")
    for member in (shared, alone, evicted):
        local.add(member, me.member_id())
    local.joined_alone(local.members[alone])
    me.evict(local, evicted)
    me.evict(local, evicted)  # once
    assert evicted.closing() == (CloseCode.SERVICE_RESTART, LeaveReason.SERVER)
    assert me.leaving("r", shared) == (local, f"{me.me}.1", True)
    assert me.leaving("r", alone) == (local, f"{me.me}.2", False) and not local.unannounced
    assert me.leaving("r", evicted) is None and me.leaving("r", evicted) is None  # its leave was announced
    assert me.leaving("r", shared) is None and me.leaving("elsewhere", shared) is None


def test_reborn_evicts_the_announced_and_renames_the_rest() -> None:
    me = instance()
    known, alone = Recorder("k"), Recorder("a")
    local = me.room("r")
    local.add(known, me.member_id())
    local.add(alone, me.member_id())
    local.joined_alone(local.members[alone])
    old = me.me
    me.reborn()
    assert me.me != old and local.me == me.me and known.closing() is not None
    assert list(local.members) == [alone] and local.unannounced == {local.members[alone]}
    assert local.members[alone].startswith(f"{me.me}.")


def test_idle_rooms_are_forgotten_and_the_subscribed_ones_named() -> None:
    me = instance()
    me.room("a").subscribed_now()
    me.room("b")
    me.room("busy").add(Recorder("x"), me.member_id())
    assert me.forget_idle(["a", "b", "busy", "gone"]) == ["a"]
    assert set(me.rooms) == {"busy"} and me.stats() == (1, 1)
