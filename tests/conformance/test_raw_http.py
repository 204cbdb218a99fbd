"""Hand-written upgrade requests (raw_http.py): the path goes out exactly as given, `Host` can be replaced, and
whatever the target answers (a status, garbage, silence, a refused connection) becomes a status or a reason."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from roomwire.conformance.raw_http import raw_connection, request_head, upgrade_status
from roomwire.conformance.target import Endpoint, parse_target
from tests.support.processes import free_port
from tests.support.timing import UNIT


def endpoint(port: int = 8000) -> Endpoint:
    return parse_target([f"ws://127.0.0.1:{port}/api/v1/ws/chat/{{room_id}}?lang=en"]).endpoints[0]


def test_the_path_is_sent_as_given_and_host_can_be_replaced() -> None:
    head = request_head(endpoint(), "%61bc", {"Host": "evil.example"}).decode("latin-1")
    assert head.startswith("GET /api/v1/ws/chat/%61bc HTTP/1.1\r\n") and head.endswith("\r\n\r\n")
    assert "Host: evil.example\r\n" in head and "127.0.0.1" not in head
    assert "Upgrade: websocket\r\n" in head and "Sec-WebSocket-Version: 13\r\n" in head
    assert "Host: 127.0.0.1:8000\r\n" in request_head(endpoint(), "room").decode("latin-1")


@asynccontextmanager
async def answering(answer: bytes | None) -> AsyncIterator[Endpoint]:
    """A server that reads the request head and sends `answer` (None: sends nothing and keeps the connection);
    every connection it accepted is closed on the way out (a server's close leaves them open)."""
    accepted: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        await reader.readuntil(b"\r\n\r\n")
        if answer is not None:
            writer.write(answer)
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield endpoint(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for writer in accepted:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        await server.wait_closed()


async def test_the_status_or_why_there_was_none() -> None:
    async with answering(b"HTTP/1.1 403 Forbidden\r\n\r\n") as target:
        assert await upgrade_status(target, None, "room", None, UNIT) == 403
    async with answering(b"SSH-2.0-OpenSSH\r\n") as target:
        assert str(await upgrade_status(target, None, "room", None, UNIT)).startswith("no HTTP status line")
    async with answering(None) as target:
        assert str(await upgrade_status(target, None, "room", None, 0.2)).startswith("TimeoutError")
    refused = await upgrade_status(endpoint(free_port()), None, "room", None, UNIT)
    assert str(refused).startswith("ConnectionRefusedError")


async def test_a_connection_reports_whether_the_target_ended_it() -> None:
    async with answering(b"HTTP/1.1 400 Bad Request\r\n\r\n") as target:
        async with raw_connection(target, None, UNIT) as connection:
            connection.writer.write(request_head(target, "room"))
            assert await connection.ended(UNIT)
    async with answering(None) as target:
        async with raw_connection(target, None, UNIT) as connection:
            connection.writer.write(request_head(target, "room"))
            assert not await connection.ended(0.2)
