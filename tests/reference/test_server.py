"""roomwire.reference.server: the listening socket and the graceful stop, in process."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
from collections import Counter

import pytest

from roomwire.reference import listener
from roomwire.reference import server as server_module
from roomwire.reference.app import create_app, hub_of
from roomwire.reference.connection import Connection
from roomwire.reference.fast_upgrade import HeldResponse
from roomwire.reference.hypercorn_ext import RoomwireWSStream
from roomwire.reference.outbox import Outbox
from roomwire.reference.rooms.broker import RoomEvent
from roomwire.reference.rooms.memory import MemoryBroker
from roomwire.reference.server import listen
from roomwire.spec.errors import ConfigError
from tests.reference.helpers import Client, raw_upgrade, read_close, serving, settings
from tests.support.timing import UNIT


def test_a_port_in_use_is_a_config_error_naming_the_address() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}: Address already in use"):
            listen("127.0.0.1", port)


async def test_an_upgrade_during_the_stop_gets_503_not_connection_refused() -> None:
    """docs/reference.md: while the server closes its connections, new upgrades are answered 503 (issue 13: refused)."""
    async with serving(close_timeout_s=2.0) as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        status, _, reader, stuck = await raw_upgrade(server, "/api/v1/ws/chat/r?nickname=stuck")
        assert status == 101  # it will never answer the server's close frame: the stop waits for it
        try:
            server.stop.set()
            assert (await a.closed())[0] == 1012
            assert await read_close(reader) == 1012
            late, _, _, writer = await raw_upgrade(server, "/api/v1/ws/chat/r")  # the stop is still under way
            writer.close()
            assert late == 503
            await asyncio.wait_for(server.hub.begin_shutdown(), UNIT)
        finally:
            stuck.close()


#: What one connection makes and must not outlive it: its app object, WebSocket stream, TCP server, held 101,
#: outbox, and the tasks serving it.
PER_CONNECTION = (Connection, RoomwireWSStream, listener.GuardedTCPServer, HeldResponse, Outbox, asyncio.Task)


def per_connection() -> list[object]:
    """Live objects of the per-connection types, after a full collection (garbage is not a leak)."""
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, PER_CONNECTION)]


async def test_connections_that_come_and_go_leave_nothing_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reconnect storm on one process (docs/benchmarks.md, "Memory across reconnect storms"): rounds of clients
    join the same rooms and leave, half of them by a clean close and half by a reset. After each round every
    per-connection object and table entry is gone, and the room events alive are exactly those the history keeps
    (the rooms are small enough that it evicts by its per-room count: a dead eviction entry once kept its event)."""
    gates: list[listener.Gate] = []

    def gate_for(*args: object) -> listener.Gate:
        gates.append(made := original(*args))  # type: ignore[arg-type]
        return made

    original = server_module.gate_for
    monkeypatch.setattr(server_module, "gate_for", gate_for)
    rooms, members = 8, 5
    async with serving(resume_history=4) as server:
        (gate,), broker = gates, server.hub.broker
        assert isinstance(broker, MemoryBroker)

        async def gone() -> None:
            """Until the server has seen every connection go (bounded: 2 UNIT), then nothing of them is left."""
            for _ in range(100):
                if not server.hub.connections and gate.open == 0:
                    break
                await asyncio.sleep(UNIT / 50)
            assert not server.hub.connections and gate.open == 0 and gate.pending("127.0.0.1") == 0
            assert server.hub.addresses.tracked[0] == 0 and broker.stats()[1] == 0

        async with Client.connect(server.ws("warm-up")) as first:  # what the first connection starts for good
            await first.joined()
        await gone()
        # Held, so that no id is reused: what other tests of this process left (a test's exception holding its
        # frames, and through them a connection) is told apart from what this server leaves.
        baseline = per_connection()
        known = {id(o) for o in baseline}
        for _ in range(3):
            async with contextlib.AsyncExitStack() as stack:
                clients = [
                    await stack.enter_async_context(Client.connect(server.ws(f"churn-{i % rooms}", f"nickname=c{i}")))
                    for i in range(rooms * members)
                ]
                await asyncio.gather(*(client.joined() for client in clients))
                for client in clients[::2]:
                    client.ws.transport.abort()  # a reset, no close frame
            await gone()
            left = Counter(type(o).__name__ for o in per_connection() if id(o) not in known)
            assert not left, f"left behind: {dict(left)}"
            events = sum(isinstance(o, RoomEvent) and o.room.startswith("churn-") for o in gc.get_objects())
            assert events == broker.ledger.events - 2 == rooms * 4  # the warm-up room keeps its join and leave


class SlowStartBroker(MemoryBroker):
    """A broker that takes a while to connect, as a Redis broker on a busy machine may."""

    async def start(self) -> None:
        await asyncio.sleep(0.5)
        await super().start()


async def test_the_url_is_announced_once_the_app_serves() -> None:
    """`ready` (the CLI's `roomwire serve: URL` line) comes after start-up, so whoever waits for it is answered at
    once: the first connection made on it is welcomed."""
    app = create_app(settings(), broker=SlowStartBroker())
    stop = asyncio.Event()
    started_when_ready: list[bool] = []
    welcomed: list[str] = []

    def ready(url: str) -> None:
        started_when_ready.append(hub_of(app).started)
        asyncio.get_running_loop().create_task(first_client(url))

    async def first_client(url: str) -> None:
        try:
            async with Client.connect(url.replace("{room_id}", "r")) as client:
                welcomed.append((await client.welcome())["event"])
        finally:
            stop.set()

    await asyncio.wait_for(server_module.serve(settings(), app=app, stop=stop, ready=ready), 3 * UNIT)
    assert started_when_ready == [True] and welcomed == ["welcome"]


class FailingStartBroker(MemoryBroker):
    """A broker that cannot connect (a Redis that is down at start)."""

    async def start(self) -> None:
        raise OSError("the broker is down")


async def test_a_start_up_that_fails_is_raised_at_once_not_after_the_start_timeout() -> None:
    """`running_server` waits for the app to serve or for the server to end: a failed start-up is its error, at
    once (the 30 s start timeout is for a start that hangs)."""
    started = asyncio.get_running_loop().time()
    with pytest.raises(Exception, match="the broker is down"):
        async with server_module.running_server(settings(), broker=FailingStartBroker()):
            pass  # pragma: no cover - never serves
    assert asyncio.get_running_loop().time() - started < 3 * UNIT
