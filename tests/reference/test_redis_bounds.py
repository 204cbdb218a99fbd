"""What the rooms' history may hold in Redis (RECON-005), and Redis at `maxmemory`, on a real redis-server.

The bounds: `resume_history` events per room, a byte budget for the events of all rooms (the oldest event of any
room evicted first), and rooms without members forgotten after `room_ttl` or beyond the `empty_rooms` most
recently emptied. At `maxmemory` Redis refuses writes with OOM: the broker is degraded (its clients get the
`degraded` notice, local rooms keep working, never a 1011) and recovers once Redis has room again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest
import redis as redis_py

from roomwire.reference.rooms.broker import EventDraft, EventKind
from roomwire.reference.rooms.redis.broker import RedisBroker, create_redis_broker
from roomwire.reference.rooms.redis.config import HistoryBounds
from tests.reference.helpers import Client, settings
from tests.scaleout.instances import instances
from tests.scaleout.members import FAST, Notices, Recorder, depart, enter, eventually, options, say
from tests.scaleout.redis_server import RedisServer

pytestmark = pytest.mark.redis


@contextlib.asynccontextmanager
async def broker(url: str, bounds: HistoryBounds, extra: str = FAST) -> AsyncIterator[RedisBroker]:
    one = RedisBroker(options(url, extra), history=bounds.events, bounds=bounds)
    await one.start()
    try:
        yield one
    finally:
        await one.close()


def kept(client: redis_py.Redis, room: str) -> list[bytes]:
    return [entry for entry in client.lrange(f"roomwire:room:{room}:history", 0, -1) if isinstance(entry, bytes)]


async def test_history_keeps_its_count_per_room_and_its_byte_budget_over_all_rooms(redis: RedisServer) -> None:
    client = redis_py.Redis.from_url(redis.url)
    async with broker(redis.url, HistoryBounds(events=5, total_bytes=3000)) as one:
        for room in ("old", "new"):
            await enter(one, room, Recorder("m"))
        for i in range(8):
            await say(one, "old", "m", f"old {i} " + "x" * 100)
        assert len(kept(client, "old")) == 5  # RECON-004's count per room
        for i in range(20):
            await say(one, "new", "m", f"new {i} " + "y" * 400)
        old, new = kept(client, "old"), kept(client, "new")
        total = sum(len(entry) for entry in old + new)
        assert total <= 3000 and len(new) == 5 and len(old) < 5  # the budget took the oldest events of any room
        assert [entry.split(b'"x":"')[1][:5] for entry in old] == [b"old %d" % i for i in range(8 - len(old), 8)]
        assert int(client.get("roomwire:history_total") or 0) == total  # the accounting matches what is kept
        assert client.hget("roomwire:history_bytes", "new") == str(sum(len(entry) for entry in new)).encode()
        late = Recorder("late")
        joined = await one.join("new", late, capacity=10, since=10)  # a resume over evicted events
        assert not joined.complete and str(joined.replay[-1].content).startswith("new 19")
    client.close()


async def test_an_empty_room_is_forgotten_after_its_ttl(redis: RedisServer) -> None:
    client = redis_py.Redis.from_url(redis.url)
    async with broker(redis.url, HistoryBounds(), extra=f"{FAST}&room_ttl=1") as one:
        ann = Recorder("ann")
        await enter(one, "gone", ann)
        await say(one, "gone", "ann", "hello")
        await depart(one, "gone", ann)
        assert client.exists("roomwire:room:gone:seq", "roomwire:room:gone:history") == 2  # kept for a resume
        await asyncio.sleep(1.2)
        await enter(one, "other", Recorder("bob"))  # any room script tidies up
        assert client.exists("roomwire:room:gone:seq", "roomwire:room:gone:history") == 0
        assert client.zscore("roomwire:empty_rooms", "gone") is None
        assert client.hget("roomwire:history_bytes", "gone") is None
    client.close()


async def test_only_the_most_recently_emptied_rooms_are_kept(redis: RedisServer) -> None:
    client = redis_py.Redis.from_url(redis.url)
    async with broker(redis.url, HistoryBounds(empty_rooms=3)) as one:
        for n in range(8):
            member = Recorder("m")
            await enter(one, f"r{n}", member)
            await say(one, f"r{n}", "m", "x")
            await depart(one, f"r{n}", member)
        kept_rooms = [n for n in range(8) if client.exists(f"roomwire:room:r{n}:seq")]
        assert kept_rooms == [5, 6, 7] and client.zcard("roomwire:empty_rooms") == 3
        assert int(client.get("roomwire:history_total") or 0) == sum(
            len(e) for n in kept_rooms for e in kept(client, f"r{n}")
        )
    client.close()


async def test_a_room_forgotten_while_this_instance_still_knew_it_starts_again_for_a_new_member(
    redis: RedisServer,
) -> None:
    async with broker(redis.url, HistoryBounds(empty_rooms=0)) as one:  # forgotten as soon as it is empty
        ann = Recorder("ann")
        await enter(one, "r", ann)
        for i in range(3):
            await say(one, "r", "ann", str(i))
        await depart(one, "r", ann)
        bob = Recorder("bob")
        joined = await enter(one, "r", bob)
        assert joined.seq == 0  # Redis forgot it: seq starts again (as after a memory:// restart)
        await say(one, "r", "bob", "again")
        await eventually(lambda: bob.said() == ["again"], what="bob's own message")
        assert bob.seqs() == [1, 2]  # his join and his message: nothing withheld as "already delivered"


async def test_a_room_this_instance_left_leaves_its_set_so_reapers_need_not_visit_it(redis: RedisServer) -> None:
    client = redis_py.Redis.from_url(redis.url)
    async with broker(redis.url, HistoryBounds()) as one:
        ann, bob = Recorder("ann"), Recorder("bob")
        await enter(one, "left", ann)
        await enter(one, "stays", bob)
        rooms = f"roomwire:instance:{one.instance.me}:rooms"
        assert client.smembers(rooms) == {b"left", b"stays"}
        await depart(one, "left", ann)
        await eventually(lambda: client.smembers(rooms) == {b"stays"}, what="the room left the instance's set")
    client.close()


@contextlib.contextmanager
def full(redis: RedisServer) -> Iterator[redis_py.Redis]:
    """Redis at `maxmemory` (noeviction): every write that needs memory is refused with OOM; room again after."""
    client = redis_py.Redis.from_url(redis.url)
    for n in range(32):  # 2 MiB in small writes: no big query buffer that Redis frees (and counts) later
        client.set(f"filler:{n}", b"f" * 64 * 1024)
    client.config_set("maxmemory", int(client.info("memory")["used_memory"]) - 1024 * 1024)  # below what it holds
    try:
        yield client
    finally:
        client.delete(*(f"filler:{n}" for n in range(32)))
        client.config_set("maxmemory", 0)
        client.close()


async def test_redis_at_maxmemory_degrades_the_broker_and_local_rooms_keep_working(redis: RedisServer) -> None:
    async with broker(redis.url, HistoryBounds()) as one:
        notices, ann, bob = Notices(one), Recorder("ann"), Recorder("bob")
        await enter(one, "r", ann)
        await enter(one, "r", bob)
        with full(redis) as client:
            with pytest.raises(redis_py.exceptions.OutOfMemoryError):
                client.incr("roomwire:probe")
            event = await one.publish("r", EventDraft(EventKind.USER_MSG, nickname="ann", content="at the limit"))
            assert notices.seen == [False]  # SPEC §9 degraded, not an error
            await eventually(lambda: "at the limit" in bob.said(), what="local delivery while Redis is full")
            assert event.seq > 2**32  # an outage seq: never one the shared counter gives
            await asyncio.sleep(1.5)  # reconnection attempts meet the same refusal: still degraded
            assert notices.seen == [False]
        await eventually(lambda: notices.seen == [False, True], what="restored once Redis has room")
        await say(one, "r", "bob", "after")
        await eventually(lambda: "after" in ann.said(), what="shared again")


async def test_a_client_at_maxmemory_gets_the_degraded_notice_never_a_1011(redis: RedisServer) -> None:
    async with instances(redis.url, 1) as (server,):
        async with Client.connect(server.ws("r", "nickname=ann")) as ann, Client.connect(server.ws("r")) as bob:
            await ann.joined()
            await bob.joined()
            with full(redis):
                await ann.say("over the limit")
                assert (await ann.event("notice"))["code"] == "degraded"
                await bob.expect(lambda f: f.get("content") == "over the limit")  # the room goes on locally
                for n in range(5):
                    await ann.say(f"still {n}")
                await bob.expect(lambda f: f.get("content") == "still 4")
            await ann.expect(lambda f: f.get("code") == "restored", within=30)
            assert ann.ws.close_code is None and bob.ws.close_code is None  # no 1011, no close at all


def test_the_bounds_are_the_settings_memory_has_and_the_url_may_set_the_ttl(redis: RedisServer) -> None:
    changes = {"resume_history": 7, "resume_history_bytes": 5000, "empty_rooms_kept": 3, "empty_room_ttl_s": 42.0}
    made = create_redis_broker(settings(broker_url=redis.url, **changes))
    assert isinstance(made, RedisBroker)
    assert made.store.bounds == HistoryBounds(events=7, total_bytes=5000, empty_rooms=3, empty_ttl_s=42.0)
    assert made.store._room_args("r")[3:] == [7, 5000, 42_000, 3]
    overridden = create_redis_broker(settings(broker_url=f"{redis.url}?room_ttl=9", **changes))
    assert isinstance(overridden, RedisBroker) and overridden.store._room_args("r")[5] == 9_000
