"""The seams a deliberately broken variant (or a Redis broker) plugs into, exercised over real sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from roomwire.reference.connection import Connection
from roomwire.reference.endpoint import ChatEndpoint, refuse
from roomwire.reference.handshake import Refusal
from roomwire.reference.rooms.broker import BrokerUnavailable, EventDraft, EventKind, Joined, Member, RoomEvent
from roomwire.reference.rooms.memory import MemoryBroker
from roomwire.spec.messages import ClientUserMsg
from tests.reference.helpers import Client, masked_frame, raw_upgrade, read_close, serving
from tests.support.timing import UNIT


class Buggy(Connection):
    """A variant whose user_msg rule has a bug: the server must contain it to that connection."""

    async def on_user_msg(self, frame: ClientUserMsg) -> None:
        if frame.content == "crash":
            raise RuntimeError("a bug in one rule")
        await super().on_user_msg(frame)


async def test_a_bug_in_one_rule_closes_only_that_connection_with_1011() -> None:
    async with serving(connection_class=Buggy) as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        async with Client.connect(server.ws("r", "nickname=b")) as b:
            await b.joined()
            await b.say("crash")
            assert (await b.closed())[0] == 1011
        assert (await a.event("leave"))["reason"] == "server"
        await a.say("fine")
        await a.expect(lambda f: f.get("content") == "fine")


class Asynchronous(MemoryBroker):
    """Delivers room events during `join`, as a Redis subscription may: before the member has its welcome (its
    own join, published by `join`, among them)."""

    async def join(self, room: str, member: Member, *, capacity: int, since: int | None) -> Joined:
        joined = await super().join(room, member, capacity=capacity, since=since)
        old = RoomEvent(room=room, kind=EventKind.USER_MSG, seq=joined.seq, ts=1, nickname="x", content="old")
        member.deliver(old)  # already counted in the welcome's seq: must not arrive (CONN-004)
        live = await self.publish(room, EventDraft(EventKind.USER_MSG, nickname="x", content="live"))
        member.deliver(live)  # delivered twice: must arrive once (CHAT-004)
        return Joined(seq=joined.seq, members=joined.members, replay=joined.replay, complete=joined.complete)


async def test_events_that_arrive_before_the_welcome_wait_for_it() -> None:
    async with serving(broker=Asynchronous()) as server, Client.connect(server.ws("r")) as a:
        welcome = await a.welcome()  # CONN-003 even so
        joined = await a.recv()
        assert joined["event"] == "join" and joined["seq"] == welcome["seq"] + 1  # PRES-001: its own join first
        live = await a.recv()
        assert live["content"] == "live" and live["seq"] == welcome["seq"] + 2
        assert [f.get("content") for f in a.frames].count("live") == 1 and "old" not in str(a.frames)
        a.check()


async def test_a_refused_client_that_keeps_talking_is_still_closed() -> None:
    async with serving(room_capacity=2) as server:
        async with Client.connect(server.ws("r")) as a, Client.connect(server.ws("r")) as b:
            await a.welcome()
            await b.welcome()
            status, _, reader, writer = await raw_upgrade(server, "/api/v1/ws/chat/r")
            try:
                writer.write(masked_frame(0x1, b'{"type":"ping"}') * 3)
                assert await read_close(reader) == 1013
            finally:
                writer.close()


async def test_the_close_watchdog_drops_a_peer_that_never_completes_the_close() -> None:
    async with serving(close_timeout_s=0.5) as server:
        status, _, reader, writer = await raw_upgrade(server, "/api/v1/ws/chat/r")
        try:
            writer.write(masked_frame(0x2, b"binary"))  # -> close 1003, which this peer never answers
            assert await read_close(reader) == 1003
            assert await asyncio.wait_for(reader.read(), UNIT) == b""  # the server ended the TCP connection
        finally:
            writer.close()
        assert server.hub.gauges()["connections"] == 0


async def test_upgrades_during_a_restart_get_503() -> None:
    async with serving(shutdown_grace_s=5) as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        server.hub.shutting_down = True  # as begin_shutdown does first
        status, _, _, writer = await raw_upgrade(server, "/api/v1/ws/chat/r")
        writer.close()
        assert status == 503
        server.hub.shutting_down = False


async def test_the_endpoint_edges_without_a_server() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def disconnect() -> dict[str, Any]:
        return {"type": "websocket.disconnect", "code": 1006}

    await refuse({"extensions": {}}, send, Refusal(403, "origin not allowed"))
    assert sent == [{"type": "websocket.close", "code": 1008}]  # no http.response extension: 403 by close
    endpoint = ChatEndpoint(hub=None)  # type: ignore[arg-type]
    await endpoint({"type": "websocket", "path": "/api/v1/ws/chat/r"}, disconnect, send)  # gone before connect
    assert len(sent) == 1


@pytest.mark.parametrize("since", ["9" * 5000])
async def test_an_enormous_since_is_refused(since: str) -> None:
    async with serving() as server:
        status, _, _, writer = await raw_upgrade(server, f"/api/v1/ws/chat/r?since={since}")
        writer.close()
        assert status == 400


async def test_a_malformed_origin_is_refused() -> None:
    async with serving() as server:
        status, _, _, writer = await raw_upgrade(server, "/api/v1/ws/chat/r", {"Origin": "http://[::1"})
        writer.close()
        assert status == 403


class Down(MemoryBroker):
    """A broker that has lost its store: joins and publishes fail."""

    down = False

    async def join(self, room: str, member: Member, *, capacity: int, since: int | None) -> Joined:
        if self.down:
            raise BrokerUnavailable("store lost")
        return await super().join(room, member, capacity=capacity, since=since)

    async def publish(self, room: str, draft: EventDraft) -> RoomEvent:
        if self.down and draft.kind is EventKind.USER_MSG:
            raise BrokerUnavailable("store lost")
        return await super().publish(room, draft)


async def test_a_broker_outage_is_a_notice_not_a_crash() -> None:
    broker = Down()
    async with serving(broker=broker) as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        broker.down = True
        await a.say("lost")
        assert (await a.event("notice"))["code"] == "degraded"  # the connection stays
        async with Client.connect(server.ws("r")) as b:
            assert (await b.recv())["code"] == "degraded"
            assert (await b.closed())[0] == 1013  # try again later
        broker.down = False
        await a.say("back")
        await a.expect(lambda f: f.get("content") == "back")
