"""A server whose every frame the test writes: the chat page's static files plus a WebSocket the test drives.

The reference server shows what a good server does; this one shows the page what no well-behaved server does on
demand (close with 1008, replay duplicates, hold an answer half-way), so each page rule of SPEC §14 can be tested
frame by frame. It serves the page from the installed package (`roomwire.reference` `static/`), so the tests
also prove the files are shipped.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

STATIC = files("roomwire.reference") / "static"

#: A welcome as the reference sends it (SPEC §6), small enough to read in a test.
LIMITS: dict[str, object] = {
    "max_frame_bytes": 65536,
    "max_content_chars": 2000,
    "max_history_items": 10,
    "rate_per_s": 10,
    "burst": 20,
    "ai_budget_rpm": 10,
    "ping_interval_s": 20,
    "ping_timeout_s": 20,
    "ai_timeout_s": 30,
    "send_queue_bytes": 1048576,
    "room_capacity": 500,
}


def welcome(room: str, nickname: str | None, seq: int, members: list[str], **extra: object) -> dict[str, object]:
    return {
        "type": "system",
        "event": "welcome",
        "content": f"{room} 방에 연결되었습니다.",
        "room": room,
        "nickname": nickname,
        "seq": seq,
        "members": members,
        "limits": LIMITS,
        "capabilities": ["ping", "resume"],
        **extra,
    }


def page_response(path: str) -> Response:
    """The page (`/`) and its static files; 404 for anything else."""
    name = "index.html" if path == "/" else path.removeprefix("/static/")
    resource = STATIC / name
    if "/" in name or not resource.is_file():
        return Response(404, "Not Found", Headers([("Content-Type", "text/plain")]), b"not found\n")
    body = resource.read_bytes()
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    headers = Headers([("Content-Type", f"{kind}; charset=utf-8"), ("Cache-Control", "no-store")])
    return Response(200, "OK", headers, body)


@dataclass
class ScriptedConnection:
    """One page connection, as the test sees it."""

    ws: ServerConnection
    room: str
    query: dict[str, str]
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, frame: dict[str, object]) -> None:
        await self.ws.send(json.dumps(frame, ensure_ascii=False))

    async def recv(self, within: float = 10.0) -> dict[str, Any]:
        """The next frame the page sent, skipping pings (the page's keepalive)."""
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), within)
            frame = cast(dict[str, Any], json.loads(raw))
            if frame.get("type") != "ping":
                return frame

    async def close(self, code: int, reason: str = "") -> None:
        await self.ws.close(code, reason)


class ScriptedServer:
    """Serves the page over HTTP and hands each WebSocket to the test through `next_connection()`."""

    def __init__(self) -> None:
        self._connections: asyncio.Queue[ScriptedConnection] = asyncio.Queue()
        self._server: Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def page_url(self, **query: str) -> str:
        return self.url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")

    async def next_connection(self, within: float = 10.0) -> ScriptedConnection:
        return await asyncio.wait_for(self._connections.get(), within)

    def pending_connections(self) -> int:
        return self._connections.qsize()

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path.startswith("/api/v1/ws/chat/"):
            return None  # the WebSocket handshake goes on
        return page_response(path)

    async def _handler(self, ws: ServerConnection) -> None:
        parts = urlsplit(ws.request.path if ws.request else "/")
        room = parts.path.rsplit("/", 1)[-1]
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        conn = ScriptedConnection(ws=ws, room=room, query=query)
        await self._connections.put(conn)
        try:
            await ws.wait_closed()
        except ConnectionClosed:  # pragma: no cover - wait_closed does not raise; kept for older websockets
            pass
        conn.closed.set()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[ScriptedServer]:
        async with serve(self._handler, "127.0.0.1", 0, process_request=self._process_request) as server:
            self._server = server
            self.port = next(iter(server.sockets)).getsockname()[1]
            yield self
