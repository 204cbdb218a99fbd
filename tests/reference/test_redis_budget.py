"""The AI budget shared by every instance on one real Redis (LIMIT-005), and what an instance does without it.

Real redis-server (tests/scaleout/redis_server.py); the outage is a proxy in front of Redis that stops passing
bytes without closing anything (tests/scaleout/partition.py), the hardest case: calls hang instead of failing.
"""

from __future__ import annotations

import asyncio

import pytest

from roomwire.gemini_double import AsyncDoubleControl
from roomwire.reference.ratelimit import AiBudget
from roomwire.reference.rooms.redis.broker import RedisBroker
from roomwire.reference.rooms.redis.budget import RedisBudget
from tests.reference.helpers import Client, double_server
from tests.scaleout.instances import instances
from tests.scaleout.members import brokers, eventually
from tests.scaleout.partition import partition_proxy
from tests.scaleout.redis_server import RedisServer
from tests.support.timing import UNIT

pytestmark = pytest.mark.redis


def alone(budget: RedisBudget) -> bool:
    """`budget.alone`, read through a call (mypy does not carry a narrowed attribute across awaits)."""
    return budget.alone


async def waits(budget: RedisBudget, n: int) -> list[int]:
    """`n` decisions in a row, each bounded (a budget must never hang a client)."""
    return [(await asyncio.wait_for(budget.acquire(), 2 * UNIT)).wait for _ in range(n)]


async def test_n_questions_over_two_instances_are_answered_and_the_next_one_gets_ai_quota(redis: RedisServer) -> None:
    async with (
        double_server() as double,
        instances(redis.url, gemini_base_url=double.base_url, ai_budget_rpm=3) as (one, two),
    ):
        async with Client.connect(one.ws("r")) as a, Client.connect(two.ws("r")) as b:
            await a.joined()
            await b.joined()
            for client, id in ((a, "1"), (b, "2"), (a, "3")):
                await client.ask(f"shared-{id}", id=id)
                assert (await client.answer(id))["status"] == "ok"
            for client, id in ((b, "4"), (a, "5")):  # past the budget, on either instance
                await client.ask(f"shared-{id}", id=id)
                quota = await client.error("ai_quota")
                assert quota["id"] == id and 1 <= quota["retry_after"] <= 60  # LIMIT-005, ERR-001
                assert (await client.answer(id))["status"] == "rejected"
            a.check()
            b.check()
        async with AsyncDoubleControl(double.base_url) as control:
            assert len(await control.journal(match="shared-")) == 3  # one budget, not one per instance


def budget(broker: RedisBroker, per_minute: int, *, window_s: float = AiBudget.WINDOW_S) -> RedisBudget:
    return RedisBudget(broker.store, broker.instance, per_minute, window_s=window_s)


async def test_the_shared_window_slides_releases_and_expires(redis: RedisServer) -> None:
    async with brokers(redis.url, redis.url) as (a, b):
        mine, theirs = budget(a, 2, window_s=0.4), budget(b, 2, window_s=0.4)
        first = await mine.acquire()
        assert first.wait == 0 and await waits(theirs, 2) == [0, 1]  # whole seconds, at least 1
        await mine.release(first)  # never reached upstream: no longer counted, on any instance
        assert await waits(theirs, 2) == [0, 1]
        assert a.store.link is not None
        client, key = a.store.link.client, a.store.keys.ai_budget
        assert 0 < await client.pttl(key) <= 1400  # a window and a second: it never leaks
        await asyncio.sleep(0.5)  # the window has passed, on Redis's clock
        assert await waits(mine, 3) == [0, 0, 1]
        deadline = asyncio.get_running_loop().time() + 2 * UNIT
        while await client.exists(key):
            assert asyncio.get_running_loop().time() < deadline, "the budget key did not expire"
            await asyncio.sleep(0.1)


async def test_without_redis_an_instance_admits_its_share_and_never_hangs(redis: RedisServer) -> None:
    async with partition_proxy(redis.port) as proxy, brokers(proxy.url, redis.url) as (a, b):
        await eventually(lambda: a.instance.live_instances == 2, what="a counted both instances")
        mine, theirs = budget(a, 4), budget(b, 4)
        assert await waits(mine, 1) == [0]  # shared
        proxy.blackhole()  # calls hang: each decision falls back within the timeout
        assert mine.share == 2
        decided = await waits(mine, 2)
        assert decided[0] == 0 and decided[1] >= 1  # its share, less what it admitted a moment ago
        assert alone(mine) and len(mine.pending) == 1  # to be told to Redis when it is back
        assert await waits(theirs, 2) == [0, 0]  # the other instance keeps the shared window: 3 of 4 used
        proxy.heal()
        await eventually(lambda: a.healthy, what="a reconnected")
        (after,) = await waits(mine, 1)
        assert after >= 1 and not alone(mine) and not mine.pending  # its outage admission was told to Redis:
        assert (await waits(theirs, 1))[0] >= 1  # 4 of 4, for every instance
