"""Chat messages published in batches (rooms/redis/batch.py): order, backpressure, failure, and on a real Redis.

The first tests drive a `Batcher` with a `send` of their own (no Redis): what it is given, in which order, and
what each caller gets. The last ones run `RedisBroker.post` against a real redis-server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest
import redis as redis_py
from redis import exceptions as redis_errors

from roomwire.reference.rooms.broker import EventDraft, EventKind, RoomEvent
from roomwire.reference.rooms.redis import batch
from roomwire.reference.rooms.redis.batch import Batcher
from roomwire.reference.rooms.redis.broker import RedisBroker
from roomwire.spec.codes import LeaveReason
from tests.scaleout.members import Recorder, brokers, depart, enter, eventually
from tests.scaleout.redis_server import RedisServer

Calls = Sequence[tuple[str, Sequence[bytes]]]


def draft(text: str) -> EventDraft:
    return EventDraft(EventKind.USER_MSG, nickname="n", content=text)


class FakeRedis:
    """`send` for a Batcher: a counter per room; records every call; fails as told."""

    def __init__(self) -> None:
        self.sent: list[list[tuple[str, list[bytes]]]] = []
        self.seq: dict[str, int] = {}
        self.fail: BaseException | None = None
        self.answer_error: BaseException | None = None
        self.gate: asyncio.Event | None = None  # set: the send returns

    async def send(self, calls: Calls) -> list[tuple[int, int] | BaseException]:
        self.sent.append([(room, list(fragments)) for room, fragments in calls])
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        replies: list[tuple[int, int] | BaseException] = []
        for room, fragments in calls:
            if self.answer_error is not None:
                replies.append(self.answer_error)
                continue
            first = self.seq.get(room, 0) + 1
            self.seq[room] = first + len(fragments) - 1
            replies.append((first, 1000))
        return replies


class Alone:
    """The fallback: records (room, content) published locally, with a local seq."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str | None]] = []

    def __call__(self, room: str, draft: EventDraft, exc: BaseException) -> RoomEvent:
        self.published.append((room, draft.content))
        return RoomEvent(room=room, kind=draft.kind, seq=-len(self.published), ts=0, nickname=None, content=None)


async def test_every_message_of_one_loop_turn_leaves_in_one_send_in_order() -> None:
    fake = FakeRedis()
    batcher = Batcher(fake.send, Alone())
    for n in range(5):
        await batcher.post("a", draft(str(n)), b"a%d" % n)
        await batcher.post("b", draft(str(n)), b"b%d" % n)
    event = await batcher.publish("a", draft("last"), b"a-last")
    assert fake.sent == [
        [("a", [b"a0", b"a1", b"a2", b"a3", b"a4", b"a-last"]), ("b", [b"b0", b"b1", b"b2", b"b3", b"b4"])]
    ]
    assert (event.seq, event.ts, event.content, event.room) == (6, 1000, "last", "a")  # its place in the batch


async def test_messages_queued_while_a_batch_is_in_flight_go_next_in_order() -> None:
    fake = FakeRedis()
    fake.gate = asyncio.Event()
    batcher = Batcher(fake.send, Alone())
    await batcher.post("r", draft("1"), b"1")
    await asyncio.sleep(0)
    assert fake.sent == [[("r", [b"1"])]] and batcher.busy  # in flight
    for n in (2, 3):
        await batcher.post("r", draft(str(n)), b"%d" % n)
    fake.gate.set()
    last = await batcher.publish("r", draft("4"), b"4")
    assert fake.sent == [[("r", [b"1"])], [("r", [b"2", b"3", b"4"])]] and last.seq == 4
    await asyncio.sleep(0)
    assert not batcher.busy


async def test_a_big_batch_is_split_per_script_call_and_stays_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "MAX_PER_SCRIPT", 3)
    fake = FakeRedis()
    batcher = Batcher(fake.send, Alone())
    for n in range(7):
        await batcher.post("r", draft(str(n)), b"%d" % n)
    await batcher.settled()
    assert fake.sent == [[("r", [b"0", b"1", b"2"]), ("r", [b"3", b"4", b"5"]), ("r", [b"6"])]]
    assert fake.seq["r"] == 7


async def test_post_waits_only_when_the_queue_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "MAX_QUEUED", 2)
    fake = FakeRedis()
    fake.gate = asyncio.Event()
    batcher = Batcher(fake.send, Alone())
    await batcher.post("r", draft("0"), b"0")
    await asyncio.sleep(0)  # "0" in flight, the queue empty
    await batcher.post("r", draft("1"), b"1")
    await batcher.post("r", draft("2"), b"2")
    third = asyncio.ensure_future(batcher.post("r", draft("3"), b"3"))
    await asyncio.sleep(0.05)
    assert not third.done()  # two queued: the poster waits (and its connection reads no further)
    fake.gate.set()
    await asyncio.wait_for(third, 5)
    await batcher.settled()
    assert [fragment for call in fake.sent for _, fragments in call for fragment in fragments] == [
        b"0", b"1", b"2", b"3",
    ]  # fmt: skip


async def test_settled_waits_for_everything_queued_before_it_only() -> None:
    fake = FakeRedis()
    fake.gate = asyncio.Event()
    batcher = Batcher(fake.send, Alone())
    await batcher.settled()  # nothing queued: at once
    await batcher.post("r", draft("1"), b"1")
    waiting = asyncio.ensure_future(batcher.settled())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    fake.gate.set()
    await asyncio.wait_for(waiting, 5)
    assert fake.sent == [[("r", [b"1"])]]


async def test_a_lost_link_publishes_the_batch_and_what_queued_behind_it_locally_in_order() -> None:
    fake, alone = FakeRedis(), Alone()
    fake.gate = asyncio.Event()
    batcher = Batcher(fake.send, alone)
    await batcher.post("r", draft("1"), b"1")
    await asyncio.sleep(0)
    await batcher.post("r", draft("2"), b"2")
    waiting = asyncio.ensure_future(batcher.publish("r", draft("3"), b"3"))
    fake.fail = redis_errors.ConnectionError("gone")
    fake.gate.set()
    event = await asyncio.wait_for(waiting, 5)
    assert alone.published == [("r", "1"), ("r", "2"), ("r", "3")] and event.seq == -3  # the local event


async def test_an_answer_of_out_of_memory_is_an_outage_too() -> None:
    fake, alone = FakeRedis(), Alone()
    fake.answer_error = redis_errors.OutOfMemoryError("OOM command not allowed when used memory > 'maxmemory'.")
    batcher = Batcher(fake.send, alone)
    await batcher.publish("r", draft("1"), b"1")
    assert alone.published == [("r", "1")]


async def test_any_other_error_reaches_a_waiting_publish_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    fake, alone = FakeRedis(), Alone()
    fake.answer_error = redis_errors.ResponseError("ERR a bug of ours")
    batcher = Batcher(fake.send, alone)
    await batcher.post("r", draft("posted"), b"p")
    with caplog.at_level(logging.ERROR), pytest.raises(redis_errors.ResponseError):
        await batcher.publish("r", draft("waited"), b"w")
    assert alone.published == [] and "publishing 2 messages in room r failed" in caplog.text


async def test_a_publish_cancelled_before_its_batch_left_is_not_sent() -> None:
    fake = FakeRedis()
    batcher = Batcher(fake.send, Alone())
    gone = asyncio.ensure_future(batcher.publish("r", draft("gone"), b"gone"))
    await asyncio.sleep(0)
    gone.cancel()
    kept = await batcher.publish("r", draft("kept"), b"kept")
    assert fake.sent[-1] == [("r", [b"kept"])] and kept.seq == 1


async def test_close_fails_a_waiting_publish_and_stops_flushing() -> None:
    fake = FakeRedis()
    fake.gate = asyncio.Event()
    batcher = Batcher(fake.send, Alone())
    in_flight = asyncio.ensure_future(batcher.publish("r", draft("1"), b"1"))
    await asyncio.sleep(0)
    queued = asyncio.ensure_future(batcher.publish("r", draft("2"), b"2"))
    await asyncio.sleep(0)
    settled = asyncio.ensure_future(batcher.settled())
    batcher.close()
    for waiter in (in_flight, queued):
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(waiter, 5)
    await asyncio.wait_for(settled, 5)
    assert not batcher.busy


# --- on a real Redis ----------------------------------------------------------------------------------------------


@pytest.mark.redis
async def test_posted_messages_of_many_senders_arrive_once_in_one_order_in_few_round_trips(redis: RedisServer) -> None:
    async with brokers(redis.url, redis.url) as (a, b):
        members = [Recorder(f"m{n}") for n in range(4)]
        for broker, member in zip((a, b, a, b), members, strict=True):
            await enter(broker, "r", member)
        await eventually(lambda: all(len(m.events) >= 4 - n for n, m in enumerate(members)), what="every join")
        start = max(m.seqs()[-1] for m in members)
        client = redis_py.Redis.from_url(redis.url)
        client.config_resetstat()

        async def sender(broker: RedisBroker, name: str) -> None:  # as Connection.on_user_msg: post, read on
            for i in range(100):
                await broker.post("r", EventDraft(EventKind.USER_MSG, nickname=name, content=f"{name}{i}"))

        await asyncio.gather(*(sender(broker, name) for broker, name in ((a, "a"), (b, "b"), (a, "c"), (b, "d"))))
        total = start + 400
        await eventually(lambda: all(m.seqs()[-1] == total for m in members), what="all 400 messages everywhere")
        tails = [[(e.seq, e.content) for e in m.events if e.seq > start] for m in members]
        assert all(tail == tails[0] for tail in tails)  # one order, across instances (SPEC §5)
        assert [seq for seq, _ in tails[0]] == list(range(start + 1, total + 1))  # no gap, no duplicate
        for name in "abcd":  # CHAT-004: each sender's messages in the order it posted them
            assert [c for _, c in tails[0] if c is not None and c[0] == name] == [f"{name}{i}" for i in range(100)]
        calls = client.info("commandstats")["cmdstat_evalsha"]["calls"]
        client.close()
        assert calls <= 40  # batched: 400 messages, two instances, a few round trips each (not 400)
        history = redis_py.Redis.from_url(redis.url).lrange("roomwire:room:r:history", 0, -1)
        assert len(history) == 100 and b'"s":%d,' % total in history[-1]


@pytest.mark.redis
async def test_a_leave_follows_the_members_last_posted_messages(redis: RedisServer) -> None:
    async with brokers(redis.url, redis.url) as (a, b):
        watcher, leaver = Recorder("w"), Recorder("l")
        await enter(b, "r", watcher)
        await enter(a, "r", leaver)
        for i in range(20):
            await a.post("r", EventDraft(EventKind.USER_MSG, nickname="l", content=str(i)))
        await depart(a, "r", leaver, LeaveReason.CLOSE)
        await eventually(lambda: watcher.presence(EventKind.LEAVE) == ["l"], what="the leave")
        kinds = [e.kind for e in watcher.events]
        assert kinds[-21:] == [EventKind.USER_MSG] * 20 + [EventKind.LEAVE]
