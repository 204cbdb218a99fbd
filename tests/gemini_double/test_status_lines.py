"""Reason phrases: the double's status lines carry them; other Hypercorn servers in the process are untouched."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from hypercorn import protocol
from hypercorn.asyncio import serve
from hypercorn.config import Config
from hypercorn.protocol.h11 import H11Protocol

from roomwire.gemini_double import DoubleConfig, serve_double
from roomwire.gemini_double.status_lines import ReasonPhraseH11Protocol, install, reason_phrase


def test_reason_phrases() -> None:
    assert reason_phrase(429) == b"Too Many Requests" and reason_phrase(503) == b"Service Unavailable"
    assert reason_phrase(599) == b""


async def _status_line(host: str, port: int, path: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    await writer.wait_closed()
    return line


async def _plain_app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def test_only_the_doubles_servers_get_them() -> None:
    async with serve_double(DoubleConfig(latency="zero")) as double:
        assert await _status_line(double.host, double.port, b"/nowhere") == b"HTTP/1.1 404 Not Found\r\n"
    install()  # idempotent
    installed = vars(protocol)["H11Protocol"]  # what Hypercorn's ProtocolWrapper creates
    assert installed is ReasonPhraseH11Protocol and issubclass(installed, H11Protocol)
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]
    config.accesslog = None
    stop = asyncio.Event()
    task = asyncio.create_task(serve(_plain_app, config, shutdown_trigger=stop.wait))
    try:
        assert await _status_line("127.0.0.1", port, b"/") == b"HTTP/1.1 200 \r\n"  # Hypercorn's own behaviour
    finally:
        stop.set()
        await task
