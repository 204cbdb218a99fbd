"""RedisBroker against a real redis-server: several brokers in one process stand for several instances.

Each test starts its own `redis-server` (tests/scaleout/redis_server.py) and stops it, also on failure.
Partitions go through a TCP proxy in front of Redis that the test cuts (tests/scaleout/partition.py).
Real servers and real processes: test_redis_instances.py.
"""

from __future__ import annotations

import asyncio

import pytest

from roomwire.reference.rooms.broker import EventKind, RoomFull
from roomwire.reference.rooms.redis.broker import RedisBroker
from roomwire.reference.rooms.redis.scripts import BLOCK
from roomwire.spec.codes import CloseCode, LeaveReason
from roomwire.spec.errors import ConfigError
from tests.scaleout.members import Notices, Recorder, brokers, depart, enter, eventually, options, say
from tests.scaleout.partition import partition_proxy
from tests.scaleout.redis_server import RedisServer

pytestmark = pytest.mark.redis


def consecutive(seqs: list[int]) -> bool:
    return all(b == a + 1 for a, b in zip(seqs, seqs[1:], strict=False))


async def test_events_reach_every_instance_in_one_gap_free_seq_order(redis: RedisServer) -> None:
    async with brokers(redis.url, redis.url) as (a, b):
        members = [Recorder("a1"), Recorder("a2"), Recorder("b1"), Recorder("b2")]
        for broker, member in zip((a, a, b, b), members, strict=True):
            await enter(broker, "lobby", member)
        last = await say(b, "lobby", "b1", "ready")
        await eventually(lambda: all(m.seqs()[-1:] == [last.seq] for m in members), what="everyone got 'ready'")

        async def sender(broker: RedisBroker, name: str) -> None:  # one connection: one frame after the other
            for i in range(40):
                await say(broker, "lobby", name, f"{name}{i}")

        await asyncio.gather(*(sender(broker, name) for broker, name in ((a, "a"), (b, "b"), (a, "c"), (b, "d"))))
        total = last.seq + 160
        await eventually(lambda: all(m.seqs()[-1] == total for m in members), what="all 160 messages everywhere")
        tails = [[(e.seq, e.content) for e in m.events if e.seq > last.seq] for m in members]
        assert all(tail == tails[0] for tail in tails)  # SPEC §5: one order per room, across instances
        assert [seq for seq, _ in tails[0]] == list(range(last.seq + 1, total + 1))  # CHAT-004/005
        for name in "abcd":  # each sender's own frames stay in the order it sent them (CHAT-004)
            mine = [content for _, content in tails[0] if content is not None and content[0] == name]
            assert mine == [f"{name}{i}" for i in range(40)]


async def test_members_counts_and_capacity_span_instances(redis: RedisServer) -> None:
    async with brokers(redis.url, redis.url) as (a, b):
        ann, bob, cid = Recorder("ann"), Recorder("bob"), Recorder(None)
        await enter(a, "r", ann)
        joined = await enter(b, "r", bob)
        assert sorted(joined.members, key=str) == ["ann", "bob"] and joined.seq == 1
        await eventually(lambda: ann.presence(EventKind.JOIN) == ["ann", "bob"])
        assert [e.count for e in ann.events] == [1, 2]  # PRES-007: members after the event, all instances
        with pytest.raises(RoomFull):
            await a.join("r", cid, capacity=2, since=None)  # LIMIT-006 counts members on every instance
        quiet = Recorder("quiet")
        await enter(b, "r", quiet)
        await b.leave("r", quiet, LeaveReason.CLOSE, announce=False)  # a broken variant's seam: removed, unannounced
        await depart(b, "r", bob)
        await eventually(lambda: ann.presence(EventKind.LEAVE) == ["bob"])
        assert ann.events[-1].count == 1 and ann.events[-1].reason is LeaveReason.CLOSE
        assert ann.presence(EventKind.JOIN) == ["ann", "bob", "quiet"]
        assert a.stats() == (1, 1) and b.stats() == (0, 0)


async def test_a_nickname_bound_later_shows_in_members_on_other_instances(redis: RedisServer) -> None:
    async with brokers(redis.url, redis.url) as (a, b):
        anon = Recorder(None)
        await enter(a, "r", anon)
        anon.nickname = "late"
        await a.rename("r", anon)  # IDENT-001: bound by the first frame that carries one
        joined = await enter(b, "r", Recorder("bob"))
        assert sorted(joined.members, key=str) == ["bob", "late"]


async def test_resume_reads_history_shared_by_all_instances(redis: RedisServer) -> None:
    async with brokers(redis.url, redis.url, history=5) as (a, b):
        await enter(a, "r", Recorder("ann"))
        for i in range(3):
            await say(a, "r", "ann", f"m{i}")  # seq 2..4
        joined = await enter(b, "r", Recorder("bob"), since=2)  # its join is seq 5
        assert joined.seq == 4 and joined.complete  # RECON-004
        assert [(e.seq, e.content) for e in joined.replay] == [(3, "m1"), (4, "m2")]
        for i in range(3, 8):
            await say(b, "r", "bob", f"m{i}")  # seq 6..10; history keeps 6..10
        late = await a.join("r", Recorder("cid"), capacity=10, since=2)
        assert late.seq == 10 and not late.complete and [e.seq for e in late.replay] == [6, 7, 8, 9, 10]


async def test_a_dead_instance_is_announced_once_by_several_survivors(redis: RedisServer) -> None:
    async with partition_proxy(redis.port) as proxy, brokers(proxy.url, redis.url, redis.url) as (dead, b, c):
        watchers = {"r1": (Recorder("b1"), Recorder("c1")), "r2": (Recorder("b2"), Recorder("c2"))}
        for room, (on_b, on_c) in watchers.items():
            await enter(b, room, on_b)
            await enter(c, room, on_c)
            await enter(dead, room, Recorder(f"ghost-{room}"))
            await enter(dead, room, Recorder(None))
        everyone = [m for pair in watchers.values() for m in pair]
        await eventually(lambda: all(m.presence(EventKind.JOIN)[-1:] == [None] for m in everyone))
        proxy.cut()  # the instance stops renewing its lease, as if killed
        await eventually(lambda: all(len(m.presence(EventKind.LEAVE)) == 2 for m in everyone), what="the leaves")
        await asyncio.sleep(3.5)  # a further lease: nobody announces them again
        for room, pair in watchers.items():
            for member in pair:
                leaves = [e for e in member.events if e.kind is EventKind.LEAVE]
                assert sorted(e.nickname or "" for e in leaves) == ["", f"ghost-{room}"]  # PRES-005: once each
                assert {e.reason for e in leaves} == {LeaveReason.TIMEOUT} and leaves[-1].count == 2
                assert consecutive(member.seqs())
        assert b.healthy and c.healthy and not dead.healthy


async def test_a_clean_stop_announces_members_still_registered(redis: RedisServer) -> None:
    async with brokers(redis.url) as (watcher,):
        async with brokers(redis.url) as (leaving,):
            seen = Recorder("w")
            await enter(watcher, "r", seen)
            await enter(leaving, "r", Recorder("left-behind"))
        await eventually(lambda: seen.presence(EventKind.LEAVE) == ["left-behind"])
        assert seen.events[-1].reason is LeaveReason.SERVER


async def test_redis_unreachable_at_start_is_a_one_line_config_error(redis: RedisServer) -> None:
    url = redis.url
    redis.stop()
    broker = RedisBroker(options(url, "timeout=0.5"))
    with pytest.raises(ConfigError) as caught:
        await broker.start()
    message = str(caught.value)
    assert message.startswith("ROOMWIRE_BROKER_URL: cannot reach Redis at redis://127.0.0.1:")
    assert "\n" not in message
    await broker.close()


async def test_a_password_never_shows_in_the_error(redis: RedisServer) -> None:
    redis.stop()
    broker = RedisBroker(options(f"redis://:hunter2-test@127.0.0.1:{redis.port}/0", "timeout=0.5"))
    with pytest.raises(ConfigError) as caught:
        await broker.start()
    assert "hunter2" not in str(caught.value) and ":***@" in str(caught.value)
    await broker.close()


async def test_redis_restart_degrades_keeps_local_rooms_and_never_reuses_a_seq(redis: RedisServer) -> None:
    async with brokers(redis.url, redis.url) as (a, b):
        ann, bob = Recorder("ann"), Recorder("bob")
        notices = Notices(a), Notices(b)
        await enter(a, "r", ann)
        await enter(b, "r", bob)
        before = await say(a, "r", "ann", "before")
        await eventually(lambda: bob.said() == ["before"])
        redis.kill()
        await eventually(lambda: all(n.seen == [False] for n in notices), what="degraded on both")
        local = await say(a, "r", "ann", "during")  # the local room keeps working
        assert ann.said()[-1] == "during" and local.seq > BLOCK > before.seq
        await say(b, "r", "bob", "during-b")
        assert bob.said()[-1] == "during-b" and "during" not in bob.said()  # cross-instance: lost, by design
        redis.start()  # same port, no data
        await eventually(lambda: all(n.seen == [False, True] for n in notices), what="restored on both")
        after = await say(b, "r", "bob", "after")
        await eventually(lambda: ann.said()[-1:] == ["after"] and bob.said()[-1:] == ["after"])
        for member in (ann, bob):
            assert member.seqs() == sorted(set(member.seqs()))  # CHAT-004 across the outage
            assert after.seq > max(member.seqs()[:-1]) + 1  # the outage shows as a jump (CHAT-005)
        owners = {e.seq: e.content for m in (ann, bob) for e in m.events if e.content}
        assert len(owners) == len({(e.seq, e.content) for m in (ann, bob) for e in m.events if e.content})
        joined = await a.join("r", Recorder("cid"), capacity=10, since=before.seq)
        assert not joined.complete and sorted(joined.members, key=str) == ["ann", "bob", "cid"]


async def test_what_an_instance_missed_while_cut_off_is_caught_up_from_history(redis: RedisServer) -> None:
    async with partition_proxy(redis.port) as proxy, brokers(proxy.url, redis.url) as (a, b):
        ann = Recorder("ann")
        notices = Notices(a)
        await enter(a, "r", ann)
        await enter(b, "r", Recorder("bob"))
        proxy.cut()
        await eventually(lambda: notices.seen == [False], what="degraded")
        sent = [(await say(b, "r", "bob", f"m{i}")).seq for i in range(20)]
        assert ann.said() == []
        proxy.heal()
        await eventually(lambda: notices.seen == [False, True], what="restored")
        await eventually(lambda: ann.said() == [f"m{i}" for i in range(20)], what="every message, once")
        assert consecutive(ann.seqs()) and ann.seqs()[-1] == sent[-1]  # repaired: no loss, no gap


async def test_a_subscriber_killed_by_redis_is_replaced_without_a_gap(redis: RedisServer) -> None:
    async with brokers(redis.url, redis.url) as (a, b):
        ann = Recorder("ann")
        notices = Notices(a)
        await enter(a, "r", ann)
        await enter(b, "r", Recorder("bob"))

        async def chatter() -> None:
            for i in range(200):
                await say(b, "r", "bob", f"m{i}")
                await asyncio.sleep(0.002)

        talking = asyncio.create_task(chatter())
        await asyncio.sleep(0.05)
        assert b.store.link is not None  # what Redis does when an output buffer overflows:
        await b.store.link.client.client_kill_filter(_id=await subscriber_id(b, a.instance.me))
        await talking
        await eventually(lambda: notices.seen == [False, True], what="degraded, then restored")
        await eventually(lambda: ann.said() == [f"m{i}" for i in range(200)], what="every message, once, in order")
        assert consecutive(ann.seqs())


async def subscriber_id(broker: RedisBroker, instance: str) -> str:
    """The CLIENT id of `instance`'s subscriber connection (it is named after the instance)."""
    assert broker.store.link is not None
    for client in await broker.store.link.client.client_list():
        if client["name"] == f"roomwire-sub-{instance}":
            return str(client["id"])
    raise AssertionError(f"no subscriber named for {instance}")


async def test_outage_joins_and_leaves_reach_the_other_instances_once(redis: RedisServer) -> None:
    async with (
        partition_proxy(redis.port) as proxy,
        brokers(proxy.url, redis.url, extra="lease=6&timeout=1&backoff=1") as (a, b),
    ):
        ann, amy, bob, quiet = Recorder("ann"), Recorder("amy"), Recorder("bob"), Recorder("quiet")
        await enter(a, "r", ann)
        await enter(b, "r", bob)
        await enter(a, "r", quiet)
        await eventually(lambda: ann.presence(EventKind.JOIN) == ["ann", "bob", "quiet"])
        proxy.cut()
        await eventually(lambda: not a.healthy)
        await enter(a, "r", amy)  # joins while a is cut off: announced locally at once
        await depart(a, "r", ann)  # leaves while cut off
        await a.leave("r", quiet, LeaveReason.CLOSE, announce=False)  # a broken variant's seam: never announced
        assert amy.presence(EventKind.JOIN) == ["amy"]
        proxy.heal()
        await eventually(lambda: a.healthy, what="a restored")
        await eventually(lambda: bob.presence(EventKind.LEAVE) == ["ann"] and "amy" in bob.presence(EventKind.JOIN))
        await say(b, "r", "bob", "hello")
        await eventually(lambda: amy.said() == ["hello"])
        assert bob.presence(EventKind.JOIN) == ["bob", "quiet", "amy"]  # PRES-005: exactly one join, one leave
        assert amy.presence(EventKind.JOIN) == ["amy"] and amy.presence(EventKind.LEAVE) == ["ann"]
        joined = await b.join("r", Recorder("cid"), capacity=10, since=None)
        assert sorted(joined.members, key=str) == ["amy", "bob", "cid"]  # no ghost of ann, nor of quiet


async def test_an_instance_cut_off_longer_than_its_lease_evicts_members_announced_by_others(redis: RedisServer) -> None:
    async with partition_proxy(redis.port) as proxy, brokers(proxy.url, redis.url) as (a, b):
        ann, bob = Recorder("ann"), Recorder("bob")
        await enter(a, "r", ann)
        await enter(b, "r", bob)
        proxy.cut()
        await eventually(lambda: bob.presence(EventKind.LEAVE) == ["ann"], what="b reaps a's member")
        assert bob.events[-1].reason is LeaveReason.TIMEOUT
        assert ann.closing() is None  # a still serves it locally while cut off
        proxy.heal()
        await eventually(lambda: a.healthy and ann.closing() is not None, what="a back, ann evicted")
        assert ann.closing() == (CloseCode.SERVICE_RESTART, LeaveReason.SERVER)  # the client reconnects, resumes
        await depart(a, "r", ann)  # the connection's own leave: already announced, stays silent
        await say(b, "r", "bob", "after")
        await eventually(lambda: bob.said() == ["after"])
        assert bob.presence(EventKind.LEAVE) == ["ann"]
        joined = await b.join("r", Recorder("cid"), capacity=10, since=None)
        assert sorted(joined.members, key=str) == ["bob", "cid"]


async def test_a_half_open_link_to_redis_is_noticed(redis: RedisServer) -> None:
    async with (
        partition_proxy(redis.port) as proxy,
        brokers(proxy.url, extra="lease=3&timeout=1&backoff=1") as (a,),
    ):
        notices = Notices(a)
        await enter(a, "r", Recorder("ann"))
        proxy.blackhole()  # nothing flows, nothing closes
        await eventually(lambda: notices.seen == [False], what="degraded")
        proxy.heal()
        await eventually(lambda: notices.seen == [False, True], what="restored")
