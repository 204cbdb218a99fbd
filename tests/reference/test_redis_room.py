"""LocalRoom without Redis: delivery in seq order, gap repair, the presence mirror, outage seqs, resume ranges."""

from __future__ import annotations

from roomwire.reference.rooms.broker import EventKind, Member, RoomEvent
from roomwire.reference.rooms.redis.codec import Incoming
from roomwire.reference.rooms.redis.room import LocalRoom, kept_range
from roomwire.reference.rooms.redis.scripts import BLOCK, SPAN
from tests.scaleout.members import Recorder


def message(seq: int, *, kind: EventKind = EventKind.USER_MSG, member: str | None = None, **extra: object) -> Incoming:
    event = RoomEvent(room="r", kind=kind, seq=seq, ts=0, nickname="n", content=f"m{seq}")
    return Incoming(event, member, "n", extra.get("origin"), bool(extra.get("quiet")))  # type: ignore[arg-type]


def room_with(*members: Recorder) -> tuple[LocalRoom, list[Member]]:
    evicted: list[Member] = []
    room = LocalRoom("r", 100, "me", lambda _, member: evicted.append(member))
    for n, member in enumerate(members):
        room.add(member, f"me.{n}")
    return room, evicted


def test_events_wait_for_the_join_seq_then_flow_in_order() -> None:
    ann = Recorder("ann")
    room, _ = room_with(ann)
    assert not room.accept(message(5)) and ann.seqs() == []  # before `start`: held
    assert not room.start(4)
    assert ann.seqs() == [5]
    assert not room.accept(message(5))  # at most once (CHAT-004)
    assert not room.accept(message(6)) and ann.seqs() == [5, 6]


def test_a_gap_holds_later_events_until_history_repairs_it() -> None:
    ann = Recorder("ann")
    room, _ = room_with(ann)
    room.start(1)
    assert room.accept(message(4))  # 2 and 3 missing: ask for a repair
    assert not room.accept(message(5)) and ann.seqs() == []  # held meanwhile
    room.release([message(1), message(2), message(3), message(4)])  # history overlaps: no repeats
    assert ann.seqs() == [2, 3, 4, 5] and not room.holding


def test_what_history_no_longer_has_stays_a_visible_gap() -> None:
    ann = Recorder("ann")
    room, _ = room_with(ann)
    room.start(1)
    assert room.accept(message(9))
    room.release([])
    assert ann.seqs() == [9]


def test_a_gap_at_start_is_repaired_too() -> None:
    room, _ = room_with(Recorder("ann"))
    room.accept(message(7))
    assert room.start(5)  # 6 is missing


def test_the_mirror_follows_joins_leaves_and_renames_of_other_instances() -> None:
    ann = Recorder("ann")
    room, evicted = room_with(ann)
    room.start(0)
    room.accept(message(1, kind=EventKind.JOIN, member="other.1"))
    room.accept(Incoming(None, "other.1", "renamed", None, False))
    assert room.remote == {"other.1": "renamed"} and room.count == 2 and room.names() == ("ann", "renamed")
    room.accept(message(2, kind=EventKind.LEAVE, member="other.1"))
    assert room.remote == {} and evicted == []


def test_a_leave_of_a_local_member_announced_elsewhere_evicts_it_before_delivery() -> None:
    ann, amy = Recorder("ann"), Recorder("amy")
    evicted: list[Member] = []

    def evict(room: LocalRoom, member: Member) -> None:
        evicted.append(member)
        room.remove(member)

    room = LocalRoom("r", 100, "me", evict)
    room.add(ann, "me.1")
    room.add(amy, "me.2")
    room.start(0)
    room.accept(message(1, kind=EventKind.LEAVE, member="me.1"))
    assert evicted == [ann] and ann.seqs() == [] and amy.seqs() == [1]  # PRES-005: it receives nothing more


def test_quiet_events_of_this_instance_advance_seq_without_a_second_delivery() -> None:
    ann = Recorder("ann")
    room, _ = room_with(ann)
    room.start(0)
    room.accept(message(1, origin="me", quiet=True))
    room.accept(message(2, origin="other", quiet=True))
    assert ann.seqs() == [2] and room.delivered == 2


def test_outage_seqs_sit_above_the_shared_counter_in_the_slot_range() -> None:
    room, _ = room_with()
    room.start(41)
    first = room.outage_seq(slot=3)
    assert first == BLOCK + 3 * SPAN + 1 and room.outage_seq(slot=3) == first + 1
    assert room.dirty and not room.idle
    room.outage_next = room.outage_end + 1
    assert room.outage_seq(slot=3) is None  # the range is used up


def test_one_member_failing_does_not_stop_the_others() -> None:
    class Broken(Recorder):
        def deliver(self, event: RoomEvent) -> None:
            raise RuntimeError("a bug in one member")

    ann = Recorder("ann")
    room, _ = room_with(Broken("x"), ann)
    room.start(0)
    room.accept(message(1))
    assert ann.seqs() == [1]


def test_kept_range_is_complete_only_when_contiguous() -> None:
    events = [message(seq).event for seq in (3, 4, 5, 9)]
    kept = [e for e in events if e is not None]
    assert kept_range(kept, 2, 5) == (tuple(kept[:3]), True)
    assert kept_range(kept, 1, 5)[1] is False  # 2 was trimmed
    assert kept_range(kept, 4, 9) == ((kept[2], kept[3]), False)  # 6..8 never kept (an outage jump)
    assert kept_range(kept, 9, 9) == ((), True) and kept_range(kept, 12, 9) == ((), True)
    assert kept_range(kept, 5, 6) == ((), False)
