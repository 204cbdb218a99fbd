"""The fault proxy: passes bytes both ways, and ends, silences or stalls one connection on demand."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from roomwire.conformance.proxy import FaultProxy


class Upstream:
    """A TCP server that echoes and records how each connection ended."""

    def __init__(self) -> None:
        self.ended: list[str] = []
        self.received = 0
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                self.received += len(data)
                writer.write(data)
                await writer.drain()
            self.ended.append("eof")
        except ConnectionResetError:
            self.ended.append("reset")
        finally:
            writer.close()


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, int]]:
    target = Upstream()
    server = await asyncio.start_server(target.handle, "127.0.0.1", 0)
    try:
        yield target, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def through(port: int) -> tuple[FaultProxy, asyncio.StreamReader, asyncio.StreamWriter]:
    proxy = FaultProxy("127.0.0.1", port)
    await proxy.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.listen_port)
    return proxy, reader, writer


async def test_passes_bytes_both_ways(upstream: tuple[Upstream, int]) -> None:
    target, port = upstream
    proxy, reader, writer = await through(port)
    try:
        writer.write(b"hello")
        assert await asyncio.wait_for(reader.readexactly(5), 5) == b"hello"
        connection = proxy.connection(writer.get_extra_info("sockname")[1])
        assert connection is not None and connection.bytes_from_target == 5
        assert proxy.connection(None) is None
    finally:
        writer.close()
        await proxy.aclose()


@pytest.mark.parametrize(("rst", "seen"), [(False, "eof"), (True, "reset")])
async def test_drop_ends_the_target_side_without_anything_else(
    upstream: tuple[Upstream, int], rst: bool, seen: str
) -> None:
    target, port = upstream
    proxy, reader, writer = await through(port)
    try:
        writer.write(b"x")
        await reader.readexactly(1)
        connection = proxy.connection(writer.get_extra_info("sockname")[1])
        assert connection is not None
        connection.drop(rst=rst)
        for _ in range(100):
            if target.ended:
                break
            await asyncio.sleep(0.02)
        assert target.ended == [seen]
        assert await asyncio.wait_for(reader.read(), 5) == b""  # the client's side is gone too
    finally:
        writer.close()
        await proxy.aclose()


async def test_blackhole_forwards_nothing_and_closes_nothing(upstream: tuple[Upstream, int]) -> None:
    target, port = upstream
    proxy, reader, writer = await through(port)
    try:
        writer.write(b"a")
        await reader.readexactly(1)
        connection = proxy.connection(writer.get_extra_info("sockname")[1])
        assert connection is not None
        connection.blackhole()
        writer.write(b"more")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(1), 0.3)
        assert target.received == 1 and target.ended == []
    finally:
        writer.close()
        await proxy.aclose()


async def test_stalled_reading_lets_the_target_fill_its_buffers(upstream: tuple[Upstream, int]) -> None:
    target, port = upstream
    proxy = FaultProxy("127.0.0.1", port, receive_buffer=4096)
    await proxy.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.listen_port)
    try:
        writer.write(b"p")
        await reader.readexactly(1)
        connection = proxy.connection(writer.get_extra_info("sockname")[1])
        assert connection is not None
        connection.stall_reading()
        writer.write(b"z" * 200_000)  # echoed back by the target into a proxy that does not read
        await asyncio.sleep(0.3)
        assert connection.bytes_from_target < 200_000
        connection.resume_reading()
        assert len(await asyncio.wait_for(reader.readexactly(200_000), 10)) == 200_000
    finally:
        writer.close()
        await proxy.aclose()


async def test_unreachable_target_closes_the_client() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    proxy, reader, writer = await through(port)
    try:
        assert await asyncio.wait_for(reader.read(), 5) == b""
    finally:
        writer.close()
        await proxy.aclose()
