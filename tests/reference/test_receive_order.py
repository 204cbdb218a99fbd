"""Frames the WebSocket reader hands to the connection itself (`Connection.offer`) keep their order with those that
come through Hypercorn's queue, and a disconnect waits for the frame in hand (hypercorn_ext, 7)."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from roomwire.reference.connection import Connection
from roomwire.spec.messages import ClientUserMsg
from tests.reference.helpers import QUIET, Client, serving
from tests.scaleout.members import eventually
from tests.support.timing import UNIT


class Gated(Connection):
    """Enters its room when `entering` is set; holds a `user_msg` "hold" until `gate` is set."""

    entering: ClassVar[asyncio.Event]
    gate: ClassVar[asyncio.Event]
    holding: ClassVar[asyncio.Event]
    handled: ClassVar[list[str]]
    queue: ClassVar[asyncio.Queue[Any]]

    @classmethod
    def reset(cls) -> None:
        cls.entering, cls.gate, cls.holding, cls.handled = asyncio.Event(), asyncio.Event(), asyncio.Event(), []

    async def run(self, receive: Any) -> None:
        type(self).queue = receive.__self__  # Hypercorn's queue to the app (its `get` is the ASGI receive)
        await super().run(receive)

    async def enter(self) -> bool:
        await self.entering.wait()
        return await super().enter()

    async def on_user_msg(self, frame: ClientUserMsg) -> None:
        if frame.content == "hold":
            self.holding.set()
            await self.gate.wait()
        self.handled.append(frame.content)
        await super().on_user_msg(frame)


def said(client: Client) -> list[str]:
    return [frame["content"] for frame in client.frames if frame.get("type") == "user_msg"]


async def test_a_frame_that_arrives_while_a_queued_one_is_handled_waits_in_the_queue() -> None:
    """The reader hands a frame over only while the read loop waits: one that comes while the loop is busy with a
    frame from the queue goes to the queue, behind it, even though the queue is empty by then."""
    Gated.reset()
    async with serving(connection_class=Gated) as server, Client.connect(server.ws("order")) as a:
        await a.say("hold")  # the connection has not entered its room: this one waits in Hypercorn's queue
        await eventually(lambda: Gated.queue.qsize() == 1, what="the first frame queued")
        Gated.entering.set()
        await asyncio.wait_for(Gated.holding.wait(), UNIT)  # the read loop took it from the queue and holds it
        await a.say("second")
        await eventually(lambda: Gated.queue.qsize() == 1, what="the second frame queued, not handed over")
        assert Gated.handled == []
        Gated.gate.set()
        await a.expect(lambda f: f.get("content") == "second")
        assert Gated.handled == ["hold", "second"] and said(a) == ["hold", "second"]


async def test_a_disconnect_waits_for_the_frame_the_reader_handed_over() -> None:
    """The reader holds "hold" (handed over directly), so it reads no pong; keepalive ends the connection and its
    disconnect comes through the queue. The member leaves only after "hold" is handled: the room sees the message,
    then the leave, never a message from a member who already left."""
    Gated.reset()
    Gated.entering.set()
    async with serving(connection_class=Gated, ping_interval_s=1, ping_timeout_s=1) as server:
        async with Client.connect(server.ws("wait", "nickname=bee"), nickname="bee") as b:
            await b.joined()
            async with Client.connect(server.ws("wait", "nickname=ann"), nickname="ann") as a:
                await a.joined()
                await b.expect(lambda f: f.get("event") == "join" and f.get("nickname") == "ann")
                await a.say("hold")
                await asyncio.wait_for(Gated.holding.wait(), UNIT)
                assert Gated.queue.qsize() == 0  # handed over: it never went through the queue
                await a.closed(within=3 * UNIT)  # no pong read within the keepalive: aborted
                assert not [f for f in await b.quiet(QUIET) if f.get("event") == "leave"]
                Gated.gate.set()
                leave = await b.expect(lambda f: f.get("event") == "leave")
            assert leave["nickname"] == "ann" and leave["reason"] == "timeout"
            assert said(b) == ["hold"] and b.frames.index(leave) > b.frames.index(
                next(f for f in b.frames if f.get("type") == "user_msg")
            )
