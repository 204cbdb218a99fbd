"""What the reference server's tests share: a server on port 0, a Gemini double, and a checking client.

Every server runs in the test's own event loop (`running_server`) and is stopped by the `async with`, also when
the test fails. Timeouts scale from `UNIT` (tests.support.timing); an assertion that something does *not*
arrive waits `QUIET`.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from roomwire.gemini_double import DoubleConfig, RunningDouble, serve_double
from roomwire.reference.server import RunningServer, running_server
from roomwire.reference.settings import Settings
from roomwire.spec.messages import HistoryItem
from roomwire.spec.protocol import ClientProtocol
from tests.support.timing import UNIT

QUIET = 0.5

#: What every test server starts from: no address exemption (tests all come from 127.0.0.1), quick closes.
BASE: dict[str, Any] = {"port": 0, "address_limit_exempt": (), "close_timeout_s": 2.0, "shutdown_grace_s": 2.0}


def settings(**changes: Any) -> Settings:
    return Settings(**{**BASE, **changes})


@asynccontextmanager
async def double_server(**config: Any) -> AsyncIterator[RunningDouble]:
    """A Gemini double without quota and with no delays, unless told otherwise."""
    options: dict[str, Any] = {"latency": "zero", "quota_rpm": None, **config}
    async with serve_double(DoubleConfig(**options)) as double:
        yield double


@asynccontextmanager
async def serving(double: RunningDouble | None = None, **changes: Any) -> AsyncIterator[RunningServer]:
    """The reference server for `settings(**changes)`, pointed at `double` when given (else its own double)."""
    app_options = {k: changes.pop(k) for k in ("connection_class", "ai_client_factory", "broker") if k in changes}
    if double is not None:
        changes.setdefault("gemini_base_url", double.base_url)
    async with running_server(settings(**changes), **app_options) as server:
        yield server


class Client:
    """A `websockets` client that checks every received frame with the spec's `ClientProtocol`."""

    def __init__(self, ws: ClientConnection, protocol: ClientProtocol) -> None:
        self.ws = ws
        self.protocol = protocol
        self.frames: list[dict[str, Any]] = []

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, url: str, *, nickname: str | None = None, since: int | None = None, **options: Any
    ) -> AsyncIterator[Client]:
        options.setdefault("ping_interval", None)
        options.setdefault("max_size", None)
        options.setdefault("open_timeout", UNIT)
        async with connect(url, **options) as ws:
            yield cls(ws, ClientProtocol(nickname=nickname, since=since))

    async def recv(self, within: float = UNIT) -> dict[str, Any]:
        text = await asyncio.wait_for(self.ws.recv(), within)
        assert isinstance(text, str), "the server sent a binary frame"
        self.protocol.receive(text)
        frame: dict[str, Any] = json.loads(text)
        self.frames.append(frame)
        return frame

    async def expect(self, predicate: Callable[[dict[str, Any]], bool], within: float = UNIT) -> dict[str, Any]:
        """Receive until a frame matches `predicate`; returns it (earlier frames stay in `frames`)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            frame = await self.recv(max(0.01, deadline - loop.time()))
            if predicate(frame):
                return frame

    async def welcome(self) -> dict[str, Any]:
        """The welcome: the first frame (already received, or the next one)."""
        if self.frames:
            frame = self.frames[0]
        else:
            frame = await self.recv()
        assert frame["type"] == "system" and frame["event"] == "welcome", frame
        return frame

    async def joined(self) -> dict[str, Any]:
        """The welcome, then this connection's own join; returns the welcome."""
        welcome = await self.welcome()
        await self.expect(lambda f: f.get("event") == "join")
        return welcome

    async def event(self, event: str, within: float = UNIT) -> dict[str, Any]:
        return await self.expect(lambda f: f.get("type") == "system" and f.get("event") == event, within)

    async def error(self, code: str, within: float = UNIT) -> dict[str, Any]:
        return await self.expect(lambda f: f.get("event") == "error" and f.get("code") == code, within)

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame, ensure_ascii=False))

    async def say(self, content: str, **fields: Any) -> None:
        await self.send({"type": "user_msg", "content": content, **fields})

    async def ask(
        self, content: str, *, id: str | None = None, history: tuple[HistoryItem, ...] = (), **extra: Any
    ) -> None:
        """Send an ai_msg through the protocol object, so its exchange (chunks, ai_done) is tracked."""
        text = self.protocol.ai_msg(content, id=id, history=history)
        if extra:
            text = json.dumps({**json.loads(text), **extra}, ensure_ascii=False)
        await self.ws.send(text)

    async def answer(self, id: str | None = None, within: float = UNIT) -> dict[str, Any]:
        """Receive until the ai_done (of `id`, when given)."""
        return await self.expect(lambda f: f.get("type") == "ai_done" and (id is None or f.get("id") == id), within)

    async def quiet(self, seconds: float = QUIET) -> list[dict[str, Any]]:
        """Everything that arrives within `seconds` (the test usually expects nothing)."""
        received: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            try:
                received.append(await self.recv(left))
            except (TimeoutError, ConnectionClosed):
                break
        return received

    async def closed(self, within: float = UNIT) -> tuple[int | None, str | None]:
        """Read until the server closes; the close code and reason the client got."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        try:
            while True:
                await self.recv(max(0.01, deadline - loop.time()))
        except ConnectionClosed:
            pass
        await asyncio.wait_for(self.ws.wait_closed(), within)
        received = self.ws.protocol.close_rcvd
        return (received.code, received.reason) if received is not None else (None, None)

    def check(self, *ignore: str) -> None:
        """No broken requirement in anything received (except the IDs in `ignore`)."""
        broken = [str(error) for _, error in self.protocol.violations if error.requirement_id not in ignore]
        assert not broken, broken


def host_port(server: RunningServer) -> tuple[str, int]:
    netloc = server.url.split("://", 1)[1].split("/", 1)[0]
    host, _, port = netloc.rpartition(":")
    return host, int(port)


async def raw_upgrade(
    server: RunningServer, path: str, headers: dict[str, str] | None = None, *, rcvbuf: int | None = None
) -> tuple[int, bytes, asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a WebSocket by hand: (status, response head, reader, writer). For peers that misbehave on purpose.

    A `Host` in `headers` replaces the server's own.
    """
    host, port = host_port(server)
    headers = dict(headers or {})
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=2**16)
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {headers.pop('Host', f'{host}:{port}')}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), UNIT)
    return int(head.split(b" ", 2)[1]), head, reader, writer


def masked_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """A client frame (RFC 6455 §5.2: masked) with a zero mask, so the payload goes as it is."""
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    if length < 126:
        header = bytes((first, 0x80 | length))
    elif length < 1 << 16:
        header = bytes((first, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((first, 0x80 | 127)) + length.to_bytes(8, "big")
    return header + b"\x00\x00\x00\x00" + payload


async def read_frame(reader: asyncio.StreamReader, within: float = UNIT) -> tuple[int, bytes]:
    """One unmasked server frame: (opcode, payload)."""
    head = await asyncio.wait_for(reader.readexactly(2), within)
    length = head[1] & 0x7F
    if length == 126:
        length = int.from_bytes(await reader.readexactly(2), "big")
    elif length == 127:
        length = int.from_bytes(await reader.readexactly(8), "big")
    return head[0] & 0x0F, await asyncio.wait_for(reader.readexactly(length), within)


async def read_close(reader: asyncio.StreamReader, within: float = UNIT) -> int | None:
    """Skip frames until a close frame; its code (None if the connection ended without one)."""
    try:
        while True:
            opcode, payload = await read_frame(reader, within)
            if opcode == 0x8:
                return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
