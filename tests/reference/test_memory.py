"""The in-memory broker: atomic join, seq, fan-out that survives a broken member, bounded memory (memory.py)."""

from __future__ import annotations

import gc
import logging
import tracemalloc

import pytest

from roomwire.reference.rooms.broker import Broker, EventDraft, EventKind, RoomEvent, RoomFull
from roomwire.reference.rooms.factory import create_broker
from roomwire.reference.rooms.memory import MemoryBroker
from roomwire.reference.settings import Settings
from roomwire.spec.codes import LeaveReason
from roomwire.spec.errors import ConfigError
from roomwire.spec.texts import Lang


class Member:
    def __init__(self, nickname: str | None = None, *, broken: bool = False) -> None:
        self.nickname = nickname
        self.events: list[RoomEvent] = []
        self.broken = broken

    def deliver(self, event: RoomEvent) -> None:
        if self.broken:
            raise RuntimeError("a bug in one member")
        self.events.append(event)


async def test_join_publish_leave_and_counts() -> None:
    broker = MemoryBroker(history=10)
    a, b = Member("a"), Member()
    assert (await broker.join("r", a, capacity=2, since=None)).seq == 0
    assert [(e.kind, e.seq, e.count, e.nickname) for e in a.events] == [(EventKind.JOIN, 1, 1, "a")]  # PRES-001
    joined = await broker.join("r", b, capacity=2, since=None)
    assert joined.seq == 1 and joined.members == ("a", None)  # its own join is the next event
    assert a.events[-1] is b.events[-1] and (b.events[-1].seq, b.events[-1].count) == (2, 2)
    with pytest.raises(RoomFull):
        await broker.join("r", Member(), capacity=2, since=None)
    assert len(a.events) == 2  # a refused join is not announced
    message = await broker.publish("r", EventDraft(EventKind.USER_MSG, nickname="a", content="hi", id="m"))
    assert message.count is None and a.events[-1] is b.events[-1] is message
    await broker.leave("r", b, LeaveReason.DROP)
    left = a.events[-1]
    assert (left.kind, left.nickname, left.reason, left.count) == (EventKind.LEAVE, None, LeaveReason.DROP, 1)
    await broker.leave("r", b, LeaveReason.DROP)  # idempotent: announced once (PRES-005)
    await broker.leave("nowhere", b, LeaveReason.DROP)
    assert a.events[-1] is left and broker.stats() == (1, 1)
    quiet = Member("q")
    await broker.join("r", quiet, capacity=2, since=None)
    await broker.leave("r", quiet, LeaveReason.CLOSE, announce=False)  # a broken variant's seam
    assert a.events[-1].kind is EventKind.JOIN and broker.stats() == (1, 1)
    await broker.rename("r", a)
    await broker.start()
    await broker.close()
    assert broker.healthy and broker.state == "ok"


async def test_a_broken_member_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    broker = MemoryBroker()
    broken, fine = Member(broken=True), Member()
    await broker.join("r", broken, capacity=5, since=None)
    await broker.join("r", fine, capacity=5, since=None)
    event = await broker.publish("r", EventDraft(EventKind.USER_MSG, nickname="x", content="c"))
    assert fine.events[-1] is event and [e.kind for e in fine.events] == [EventKind.JOIN, EventKind.USER_MSG]
    assert any(r.levelno == logging.ERROR for r in caplog.records)


async def test_an_empty_room_keeps_its_seq_for_resume_and_old_ones_are_forgotten() -> None:
    broker = MemoryBroker(history=3, empty_rooms_kept=2)
    member = Member()
    for room in ("a", "b", "c"):
        await broker.join(room, member, capacity=5, since=None)
        for i in range(5):
            await broker.publish(room, EventDraft(EventKind.USER_MSG, nickname=None, content=str(i)))
        await broker.leave(room, member, LeaveReason.CLOSE)  # seq 1 join, 2..6 messages, 7 leave
    back = await broker.join("c", member, capacity=5, since=1)  # its join: seq 8
    assert back.seq == 7 and [e.seq for e in back.replay] == [5, 6, 7] and not back.complete
    assert (await broker.join("a", Member(), capacity=5, since=None)).seq == 0  # forgotten
    kept = await broker.join("c", Member(), capacity=5, since=5)  # history 6, 7, 8; its join: seq 9
    assert [e.seq for e in kept.replay] == [6, 7, 8] and kept.complete
    assert (await broker.join("c", Member(), capacity=5, since=99)).replay == ()
    full = await broker.join("c", Member(), capacity=9, since=10)
    assert full.seq == 10 and full.replay == () and full.complete


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_empty_room_is_forgotten_after_its_time_and_releases_its_history() -> None:
    clock = Clock()
    broker = MemoryBroker(history=10, empty_room_ttl_s=60, clock=clock)
    member = Member()
    await broker.join("r", member, capacity=5, since=None)
    await broker.publish("r", EventDraft(EventKind.USER_MSG, nickname=None, content="kept"))
    await broker.leave("r", member, LeaveReason.CLOSE)  # seq 3
    assert broker.empty_rooms == 1 and broker.ledger.events == 3 and broker.ledger.bytes > 0
    clock.now += 59.9
    back = Member()
    joined = await broker.join("r", back, capacity=5, since=1)  # still remembered: resumes completely
    assert joined.seq == 3 and [e.seq for e in joined.replay] == [2, 3] and joined.complete
    await broker.leave("r", back, LeaveReason.CLOSE)  # emptied again: its time starts again
    clock.now += 59.9
    assert broker.empty_rooms == 1
    clock.now += 0.2
    assert broker.empty_rooms == 0 and broker.ledger.events == 0 and broker.ledger.bytes == 0  # RECON-005
    fresh = await broker.join("r", Member(), capacity=5, since=3)
    assert fresh.seq == 0 and fresh.replay == ()


class Reader:
    """A member that renders each event as a connection does and keeps nothing."""

    nickname = "reader"

    def deliver(self, event: RoomEvent) -> None:
        event.frame(Lang.KO)


async def test_a_memory_sink_of_emptied_rooms_and_big_events_stays_within_the_budget() -> None:
    """Issue 13 finding 4: one client filled emptied rooms with big events (3 GiB); now bytes and rooms are bounded."""
    budget = 2 * 1024 * 1024
    broker = MemoryBroker(history=100, history_bytes=budget, empty_rooms_kept=40)
    rooms, events, text = 120, 60, "가나다라마바사아자차카타파하" * 142  # ~2,000 characters, ~6 KB of UTF-8
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for r in range(rooms):
            member = Reader()
            await broker.join(f"room-{r}", member, capacity=5, since=None)
            for i in range(events):
                nickname = None if i % 2 else "sender"  # a neutral name renders a frame per language
                await broker.publish(f"room-{r}", EventDraft(EventKind.USER_MSG, nickname=nickname, content=text))
            await broker.leave(f"room-{r}", member, LeaveReason.CLOSE)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert broker.ledger.bytes <= budget and broker.empty_rooms == 40 and broker.stats() == (0, 0)
    assert grown <= budget + 256 * 1024, f"{grown} bytes held for a {budget}-byte budget"  # measured, not guessed
    assert broker.ledger.bytes > budget * 0.9  # the budget is used, not undercounted by a wide margin
    last = f"room-{rooms - 1}"
    resumed = await broker.join(last, Reader(), capacity=5, since=events - 10)  # the newest events are kept
    assert resumed.complete and len(resumed.replay) == 12
    old = await broker.join("room-0", Reader(), capacity=5, since=0)  # forgotten: a fresh room
    assert old.seq == 0


async def test_rooms_past_their_event_count_hold_what_the_ledger_counts() -> None:
    """A reconnect storm's rooms (docs/benchmarks.md, "Memory across reconnect storms"): members join and leave the same
    rooms round after round, so each room evicts by its count. Each event the count evicted stayed alive in the
    eviction order until compaction, outside the ledger: twice the history it reported."""
    broker = MemoryBroker(history=20)
    rooms, rounds, members = 40, 8, 5
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(rounds):
            for r in range(rooms):
                readers = [Reader() for _ in range(members)]
                for reader in readers:
                    await broker.join(f"room-{r}", reader, capacity=members, since=None)
                for reader in readers:
                    await broker.leave(f"room-{r}", reader, LeaveReason.CLOSE)
        del readers, reader
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert broker.ledger.events == rooms * 20 and broker.empty_rooms == rooms and broker.stats()[1] == 0
    dead = 64 * (2 * broker.ledger.events + 64)  # the eviction order's dead entries: a tuple each, at most this many
    allowed = broker.ledger.bytes + rooms * 1024 + dead + 64 * 1024  # docs/reference.md: ~1 KiB per empty room
    assert grown <= allowed, f"{grown} bytes held; the ledger counts {broker.ledger.bytes}"


async def test_a_room_full_refusal_forgets_an_empty_room() -> None:
    broker = MemoryBroker()
    with pytest.raises(RoomFull):
        await broker.join("r", Member(), capacity=0, since=None)
    assert broker.stats() == (0, 0)


def test_rendering_per_language_is_cached() -> None:
    event = RoomEvent(room="r", kind=EventKind.JOIN, seq=1, ts=5, nickname=None, count=1)
    ko, en = event.frame(Lang.KO), event.frame(Lang.EN)
    assert event.frame(Lang.KO) is ko and "누군가" in ko.text and "Someone joined." in en.text
    leave = RoomEvent(room="r", kind=EventKind.LEAVE, seq=2, ts=5, nickname="n", count=0, reason=LeaveReason.CLOSE)
    assert '"reason":"close"' in leave.frame(Lang.EN).text


def test_the_broker_factory() -> None:
    assert isinstance(create_broker(Settings()), MemoryBroker)
    with pytest.raises(ConfigError, match="cannot reach Redis"):  # redis:// selects the Redis broker, which pings
        create_broker(Settings(broker_url="redis://127.0.0.1:1/0?timeout=0.5"))
    with pytest.raises(ConfigError, match="unknown broker"):
        create_broker(Settings(broker_url="kafka://x"))


def test_state_listeners_hear_changes() -> None:
    heard: list[bool] = []

    class Flaky(MemoryBroker):
        def flip(self, healthy: bool) -> None:
            self._notify(healthy)

    broker: Broker = Flaky()
    broker.on_state_change(heard.append)
    assert isinstance(broker, Flaky)
    broker.flip(False)
    broker.flip(True)
    assert heard == [False, True]
