"""Several reference instances on one real Redis, over real sockets: what clients on different instances see.

Servers are real Hypercorn servers on free ports, each with its own RedisBroker (tests/scaleout/instances.py);
the killed instance is a child process ended with SIGKILL. Every frame a client receives is checked by the
spec's `ClientProtocol` (`Client.check`), so ordering, gaps and presence rules hold on every frame.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from roomwire.reference.app import create_app
from roomwire.reference.rooms.redis.broker import create_redis_broker
from roomwire.spec.errors import ConfigError
from tests.reference.helpers import Client, settings
from tests.scaleout.instances import instances, killable_instance, serve_command
from tests.scaleout.redis_server import RedisServer
from tests.support.timing import UNIT

pytestmark = pytest.mark.redis


@contextlib.asynccontextmanager
async def clients(*urls: str) -> AsyncIterator[list[Client]]:
    """Connected one after the other, each once it has its welcome (its instance has joined it to the room, and
    subscribed): a member joining on another instance is then always announced to it, never already in its welcome."""
    async with contextlib.AsyncExitStack() as stack:
        connected = []
        for url in urls:
            client = await stack.enter_async_context(Client.connect(url))
            await client.welcome()
            connected.append(client)
        yield connected


def said(client: Client) -> list[dict[str, Any]]:
    return [f for f in client.frames if f["type"] == "user_msg"]


def system(client: Client, event: str) -> list[dict[str, Any]]:
    return [f for f in client.frames if f["type"] == "system" and f.get("event") == event]


async def test_chat_and_presence_span_instances_both_ways(redis: RedisServer) -> None:
    async with instances(redis.url) as (one, two):
        async with Client.connect(one.ws("lobby", "nickname=ann")) as ann:
            await ann.joined()
            async with Client.connect(two.ws("lobby", "nickname=bob&lang=en")) as bob:
                welcome = await bob.welcome()
                assert sorted(welcome["members"]) == ["ann", "bob"]  # SPEC §6: members of all instances
                join = await ann.expect(lambda f: f.get("event") == "join" and f["nickname"] == "bob")
                assert join["count"] == 2  # PRES-007
                await ann.say("hi from one")
                await bob.expect(lambda f: f.get("content") == "hi from one")
                await bob.say("hi from two", id="b1")
                for client in (ann, bob):
                    got = await client.expect(lambda f: f.get("content") == "hi from two")
                    assert got["nickname"] == "bob" and got["id"] == "b1"
                bob.check()
            leave = await ann.event("leave")  # PRES-002 across instances
            assert leave["nickname"] == "bob" and leave["count"] == 1 and leave["reason"] == "close"
            ann.check()


async def test_seq_is_one_gap_free_order_under_concurrent_senders_on_both(redis: RedisServer) -> None:
    async with instances(redis.url, no_limits=True) as (one, two):  # no rate limit: 25 frames at once each
        urls = [server.ws("race", f"nickname=n{i}") for i, server in enumerate((one, two, one, two))]
        async with clients(*urls) as everyone:
            for client in everyone:
                await client.welcome()
            for client in everyone:  # the last join, as everyone sees it
                await client.expect(lambda f: f.get("event") == "join" and f["nickname"] == "n3")
            start = system(everyone[0], "join")[-1]["seq"]

            async def talk(client: Client, name: str) -> None:
                for i in range(25):
                    await client.say(f"{name}-{i}")

            await asyncio.gather(*(talk(c, f"n{n}") for n, c in enumerate(everyone)))
            for client in everyone:
                while len(said(client)) < 100:
                    await client.expect(lambda f: f["type"] == "user_msg")
            orders = [[(f["seq"], f["content"]) for f in said(c)] for c in everyone]
            assert all(order == orders[0] for order in orders)  # one order, whichever instance delivered it
            assert [seq for seq, _ in orders[0]] == list(range(start + 1, start + 101))  # CHAT-004/005
            for n in range(4):  # CHAT-004: each sender's frames in the order it sent them
                assert [c for _, c in orders[0] if c.startswith(f"n{n}-")] == [f"n{n}-{i}" for i in range(25)]
            for client in everyone:
                client.check()


async def test_resume_on_another_instance_replays_what_was_missed(redis: RedisServer) -> None:
    async with instances(redis.url) as (one, two):
        async with Client.connect(one.ws("r", "nickname=ann")) as ann:
            await ann.joined()
            await ann.say("first")
            last = (await ann.expect(lambda f: f.get("content") == "first"))["seq"]
        async with Client.connect(one.ws("r", "nickname=bob")) as bob:
            await bob.joined()
            for i in range(3):
                await bob.say(f"missed {i}")
            await bob.expect(lambda f: f.get("content") == "missed 2")
            async with Client.connect(two.ws("r", f"nickname=ann&since={last}"), since=last) as again:
                welcome = await again.welcome()  # RECON-004 on the other instance, from the shared history
                assert welcome["resume"]["complete"] is True and welcome["resume"]["since"] == last
                replayed = [await again.recv() for _ in range(welcome["resume"]["replayed"])]
                assert [f.get("content") for f in replayed if f["type"] == "user_msg"] == [
                    f"missed {i}" for i in range(3)
                ]
                assert [f["seq"] for f in replayed] == list(range(last + 1, welcome["seq"] + 1))
                await again.event("join")
                again.check()


async def test_members_of_a_killed_instance_are_announced_once_by_the_survivors(redis: RedisServer) -> None:
    async with instances(redis.url) as (one, two), killable_instance(redis.url) as doomed:
        async with clients(one.ws("r", "nickname=ann"), two.ws("r", "nickname=bob")) as (ann, bob):
            await ann.joined()
            await bob.joined()
            async with clients(doomed.ws("r", "nickname=ghost"), doomed.ws("r")) as (ghost, anonymous):
                await ghost.joined()
                await anonymous.joined()
                for client in (ann, bob):
                    await client.expect(lambda f: f.get("event") == "join" and f["count"] == 4)
                doomed.kill()  # SIGKILL: no close frames, no leave from the instance itself
                for client in (ann, bob):
                    leaves = [await client.event("leave", within=2 * UNIT) for _ in range(2)]
                    assert sorted(f["nickname"] for f in leaves) == ["ghost", "누군가"]  # PRES-003/005, IDENT-003
                    assert {f["reason"] for f in leaves} == {"timeout"} and leaves[-1]["count"] == 2
                await asyncio.sleep(3.5)  # longer than a lease: nobody announces them again
                await ann.say("still here")
                for client in (ann, bob):
                    await client.expect(lambda f: f.get("content") == "still here")
                    assert len(system(client, "leave")) == 2
                    client.check()
            async with Client.connect(two.ws("r", "nickname=cid")) as cid:
                assert sorted((await cid.welcome())["members"]) == ["ann", "bob", "cid"]  # no ghosts


async def test_redis_lost_while_running_degrades_then_restores(redis: RedisServer) -> None:
    async with instances(redis.url) as (one, two):
        urls = (one.ws("r", "nickname=ann"), one.ws("r", "nickname=amy"), two.ws("r", "nickname=bob"))
        async with clients(*urls) as (ann, amy, bob):
            for client in (ann, amy, bob):
                await client.welcome()
            for client in (ann, amy, bob):
                await client.expect(lambda f: f.get("event") == "join" and f["nickname"] == "bob")
            redis.kill()
            for client in (ann, amy, bob):  # SPEC §9: clients are told
                notice = await client.expect(lambda f: f.get("code") == "degraded")
                assert notice["event"] == "notice"
            await ann.say("local")  # the room keeps working on this instance
            for client in (ann, amy):
                await client.expect(lambda f: f.get("content") == "local")
            redis.start()  # same port, empty
            for client in (ann, amy, bob):
                await client.expect(lambda f: f.get("code") == "restored", within=UNIT * 4)
            await bob.say("across again")
            for client in (ann, amy, bob):
                got = await client.expect(lambda f: f.get("content") == "across again")
                seqs = [f["seq"] for f in client.frames if "seq" in f and f.get("event") != "welcome"]
                assert seqs == sorted(set(seqs))  # CHAT-004 through the outage: no repeat, no step back
                assert got["seq"] > seqs[-2] + 1  # the outage shows as a jump (CHAT-005: detectable loss)
                client.check("CHAT-005")
            assert "local" not in [f.get("content") for f in said(bob)]  # lost across instances, by design


async def test_a_member_joining_during_an_outage_is_told_degraded_then_restored(redis: RedisServer) -> None:
    async with instances(redis.url) as (one, _two), Client.connect(one.ws("r", "nickname=ann")) as ann:
        await ann.welcome()
        redis.kill()
        await ann.expect(lambda f: f.get("code") == "degraded")
        async with Client.connect(one.ws("r", "nickname=cid")) as cid:
            await cid.welcome()  # the room is local now; the newcomer is told so, as ann was
            notice = await cid.expect(lambda f: f.get("code") == "degraded")
            assert notice["event"] == "notice"
            await ann.expect(lambda f: f.get("event") == "join" and f["nickname"] == "cid")
            redis.start()
            for client in (ann, cid):
                await client.expect(lambda f: f.get("code") == "restored", within=UNIT * 4)


async def test_redis_unreachable_at_start_is_a_one_line_config_error(redis: RedisServer) -> None:
    redis.stop()
    config = settings(broker_url=f"{redis.url}?timeout=0.5")
    with pytest.raises(ConfigError) as caught:
        create_app(config, broker_factory=create_redis_broker)
    assert str(caught.value).startswith("ROOMWIRE_BROKER_URL: cannot reach Redis at redis://127.0.0.1:")
    assert "\n" not in str(caught.value)


async def test_roomwire_serve_without_redis_exits_2_with_one_line(redis: RedisServer, tmp_path: Path) -> None:
    redis.stop()
    command = serve_command(f"redis://:not-a-real-password-test@127.0.0.1:{redis.port}/0?timeout=0.5")
    process = await asyncio.create_subprocess_exec(
        *command, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), UNIT * 6)
    lines = err.decode().strip().splitlines()
    assert process.returncode == 2 and len(lines) == 1, err.decode()
    assert "cannot reach Redis at redis://:***@127.0.0.1:" in lines[0] and "not-a-real-password" not in lines[0]
