"""Keepalive over real sockets: a peer that stops answering pings is closed and announced (PRES-004).

Two kinds of dead peer: one whose application never answers (it completed the handshake and then reads and
writes nothing, while its TCP stays up), and a half-open one (the network between the two ends goes silent: a
proxy in between stops forwarding in both directions, so no FIN and no RST ever reach the server).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from tests.reference.helpers import Client, host_port, masked_frame, raw_upgrade, read_frame, serving
from tests.support.timing import UNIT


async def test_a_peer_that_never_answers_pings_is_closed_and_announced_as_timeout() -> None:
    async with serving(ping_interval_s=1, ping_timeout_s=1) as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        started = asyncio.get_running_loop().time()
        status, _, _, writer = await raw_upgrade(server, "/api/v1/ws/chat/r?nickname=ghost")
        try:
            assert status == 101
            await a.event("join")
            leave = await a.event("leave", within=UNIT * 2)
        finally:
            writer.close()
        elapsed = asyncio.get_running_loop().time() - started
        assert leave["nickname"] == "ghost" and leave["reason"] == "timeout"
        assert elapsed < (1 + 1) * 3  # within ping_interval + ping_timeout, with slack for a busy machine
        assert server.hub.gauges()["connections"] == 1


async def test_a_peer_that_answers_pings_stays() -> None:
    async with serving(ping_interval_s=1, ping_timeout_s=1) as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        async with Client.connect(server.ws("r", "nickname=alive")) as b:  # websockets answers pings itself
            await b.joined()
            assert [f for f in await a.quiet(3.5) if f.get("event") == "leave"] == []
            await b.say("still here")
            await a.expect(lambda f: f.get("content") == "still here")


class Blackhole:
    """A TCP proxy that forwards both ways until `cut()`, then forwards nothing and closes nothing."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.cut_off = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        self.writers: list[asyncio.StreamWriter] = []

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not self.cut_off.is_set():
            data = await reader.read(65536)
            if not data or self.cut_off.is_set():
                return
            writer.write(data)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, upstream_writer]
        for task in (self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)):
            self.tasks.add(asyncio.create_task(task))

    def cut(self) -> None:
        self.cut_off.set()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[int]:
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        try:
            yield server.sockets[0].getsockname()[1]
        finally:
            server.close()
            for task in self.tasks:
                task.cancel()
            for writer in self.writers:
                writer.close()


async def test_a_half_open_connection_is_found_by_keepalive() -> None:
    async with serving(ping_interval_s=1, ping_timeout_s=1) as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        proxy = Blackhole(host_port(server))
        async with proxy.running() as port:
            url = f"ws://127.0.0.1:{port}/api/v1/ws/chat/r?nickname=wifi"
            async with Client.connect(url) as b:
                await b.joined()
                await a.event("join")
                proxy.cut()  # the Wi-Fi dies: nothing more in either direction, no FIN
                leave = await a.event("leave", within=UNIT * 2)
                assert leave["nickname"] == "wifi" and leave["reason"] == "timeout"
                b.ws.transport.abort()


async def test_pings_repeat_after_each_pong_without_a_task_per_connection() -> None:
    """One timer per loop pings every connection (keepalive.Pinger): no `_send_pings` task stays behind."""
    async with serving(ping_interval_s=1, ping_timeout_s=1) as server:
        status, _, reader, writer = await raw_upgrade(server, "/api/v1/ws/chat/r?nickname=raw")
        try:
            assert status == 101
            pings = 0
            deadline = asyncio.get_running_loop().time() + 3.6
            while (left := deadline - asyncio.get_running_loop().time()) > 0:
                try:
                    opcode, payload = await read_frame(reader, within=left)
                except TimeoutError:
                    break
                assert opcode != 0x8, "closed although every ping was answered"
                if opcode == 0x9:
                    pings += 1
                    writer.write(masked_frame(0xA, payload))
            assert pings >= 2  # ~1 s after the accept, then ~1 s after each pong
            coroutines = [task.get_coro() for task in asyncio.all_tasks()]
            assert not [c for c in coroutines if "_send_pings" in getattr(c, "__qualname__", "")]
        finally:
            writer.close()
