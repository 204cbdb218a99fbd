"""The resume history's ledger: a count per room, one byte budget for all rooms, costs measured (history.py)."""

from __future__ import annotations

import gc
import sys

from roomwire.reference.rooms.broker import EventKind, RoomEvent
from roomwire.reference.rooms.history import HistoryLedger, RoomHistory, footprint
from roomwire.spec.texts import Lang


def event(seq: int, content: str = "hello", nickname: str | None = "n", room: str = "r") -> RoomEvent:
    made = RoomEvent(room=room, kind=EventKind.USER_MSG, seq=seq, ts=1, nickname=nickname, content=content, id="m")
    for lang in Lang:
        made.frame(lang)
    return made


def test_the_footprint_counts_the_strings_and_each_rendered_frame_once() -> None:
    small, big = event(1), event(2, "가" * 2000)
    assert footprint(big) - footprint(small) >= 3 * 2000 * 2  # the content, the frame's text and its UTF-8 bytes
    named = big.frames[Lang.KO]
    assert big.frames[Lang.EN] is named  # one frame for every language, counted once
    neutral = event(3, "가" * 2000, nickname=None)
    assert neutral.frames[Lang.KO] is not neutral.frames[Lang.EN]
    assert footprint(neutral) - footprint(big) >= sys.getsizeof(named.text) + sys.getsizeof(named.data) - 64


def test_a_room_keeps_at_most_per_room_events_oldest_first() -> None:
    ledger = HistoryLedger(per_room=3, max_bytes=10**9)
    room = RoomHistory()
    for seq in range(1, 8):
        ledger.keep(room, event(seq))
    assert [e.seq for e in room.events()] == [5, 6, 7] and ledger.events == 3
    assert ledger.bytes == room.bytes == sum(footprint(e) for e in room.events())


def test_the_byte_budget_evicts_the_oldest_events_of_the_whole_process() -> None:
    one = footprint(event(1))
    ledger = HistoryLedger(per_room=100, max_bytes=5 * one)
    quiet, busy = RoomHistory(), RoomHistory()
    ledger.keep(quiet, event(1))
    ledger.keep(quiet, event(2))
    for seq in range(1, 5):
        ledger.keep(busy, event(seq))
    assert ledger.bytes <= 5 * one and ledger.events == 5
    assert [e.seq for e in quiet.events()] == [2] and [e.seq for e in busy.events()] == [1, 2, 3, 4]
    bigger = event(5, "x" * (one // 2))
    assert 2 * one < footprint(bigger) < 3 * one
    ledger.keep(busy, bigger)  # the three oldest of the process go: the quiet room's, then the busy room's
    assert ledger.bytes <= 5 * one and not quiet.events() and [e.seq for e in busy.events()] == [3, 4, 5]
    assert list(ledger) == [(busy, 3), (busy, 4), (busy, 5)]


def test_an_event_bigger_than_the_budget_is_not_kept_and_evicts_nothing() -> None:
    ledger = HistoryLedger(per_room=10, max_bytes=2 * footprint(event(1)))
    room = RoomHistory()
    ledger.keep(room, event(1))
    ledger.keep(room, event(2, "x" * 10_000))
    assert [e.seq for e in room.events()] == [1] and ledger.events == 1


def test_drop_releases_a_rooms_bytes_and_its_entries_die() -> None:
    ledger = HistoryLedger(per_room=10, max_bytes=10**9)
    gone, kept = RoomHistory(), RoomHistory()
    for seq in range(1, 4):
        ledger.keep(gone, event(seq))
        ledger.keep(kept, event(seq))
    ledger.drop(gone)
    assert ledger.bytes == kept.bytes and ledger.events == 3 and gone.bytes == 0
    assert all(h is kept for h, _ in ledger)


def test_dead_entries_do_not_pile_up_in_the_eviction_order() -> None:
    ledger = HistoryLedger(per_room=2, max_bytes=10**9)
    room = RoomHistory()
    for seq in range(1, 10_001):
        ledger.keep(room, event(seq))
    assert ledger.events == 2 and len(ledger._order) <= 2 * ledger.events + 64


def test_an_event_that_leaves_its_room_is_released_at_once() -> None:
    """Dead entries of the eviction order held their events and frames until compaction, outside the ledger's count:
    a reconnect storm that filled its rooms held twice the history the ledger reported (docs/benchmarks.md)."""
    ledger = HistoryLedger(per_room=2, max_bytes=10**9)
    room, forgotten = RoomHistory(), RoomHistory()
    for seq in range(1, 11):
        ledger.keep(forgotten if seq == 10 else room, event(seq, room="released"))
    ledger.drop(forgotten)  # its room is forgotten (memory.py)
    gc.collect()
    alive = sorted(o.seq for o in gc.get_objects() if isinstance(o, RoomEvent) and o.room == "released")
    assert alive == [8, 9]  # the two kept, nothing else (RoomEvent has slots and no weak references)
    assert ledger.events == 2 and len(ledger._order) == 10  # the dead entries are still there: only they are small


def test_no_history_keeps_nothing() -> None:
    ledger = HistoryLedger(per_room=0, max_bytes=10**9)
    room = RoomHistory()
    ledger.keep(room, event(1))
    assert len(room) == 0 and ledger.bytes == 0
