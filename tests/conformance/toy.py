"""A tiny chat server for the suite's own tests: enough of SPEC.md for chat, presence and bad input, and one
switch per defect, so the harness (driver, runner, CLI, plugin) is tested without the reference server.

It is deliberately another implementation than the reference (on `websockets`' own server), which is also a
check that the checks are not tuned to the reference.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from roomwire.spec.limits import DEFAULT_LIMITS

ROOM = re.compile(r"^/api/v1/ws/chat/([A-Za-z0-9_-]{1,64})$")


@dataclass
class Toy:
    """Switches: each True breaks one rule."""

    no_welcome: bool = False
    no_presence: bool = False
    no_broadcast: bool = False
    close_on_bad_json: bool = False
    breaks_room_on_bad_json: bool = False  # the seed's failures 1 and 4: the handler dies, the room with it
    answers_ai: bool = True  # False: an ai_msg is an unknown type, with no ai_done
    quota_refusals: int = 0  # ai_msg: refused with ai_quota (retry_after 1) this many times, then answered
    rooms: dict[str, list[ServerConnection]] = field(default_factory=dict)
    broken_rooms: set[str] = field(default_factory=set)
    seqs: dict[str, itertools.count[int]] = field(default_factory=dict)

    def check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if not ROOM.match(path):
            return connection.respond(HTTPStatus.BAD_REQUEST, "bad room\n")
        origin = request.headers.get("Origin")
        if origin is not None and "127.0.0.1" not in origin and "localhost" not in origin:
            return connection.respond(HTTPStatus.FORBIDDEN, "origin\n")
        return None

    def event(self, room: str, frame: dict[str, Any]) -> str:
        frame.update(seq=next(self.seqs.setdefault(room, itertools.count(1))), ts=int(time.time() * 1000))
        return json.dumps(frame, ensure_ascii=False)

    async def broadcast(self, room: str, frame: dict[str, Any]) -> None:
        if self.no_presence and frame.get("event") in ("join", "leave"):
            return
        text = self.event(room, frame)
        for member in list(self.rooms.get(room, [])):
            with contextlib.suppress(ConnectionClosed):
                await member.send(text)

    async def handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        parts = urlsplit(ws.request.path)
        match = ROOM.match(parts.path)
        assert match is not None
        room, query = match.group(1), parse_qs(parts.query)
        nickname: str | None = query.get("nickname", [None])[0]
        members = self.rooms.setdefault(room, [])
        if not self.no_welcome:
            limits = DEFAULT_LIMITS.to_json()
            welcome = {"type": "system", "event": "welcome", "content": f"{room} 방에 연결되었습니다.", "room": room}
            welcome.update(
                nickname=nickname, seq=0, members=[nickname or "누군가"], limits=limits, capabilities=["ping"]
            )
            await ws.send(json.dumps(welcome, ensure_ascii=False))
        members.append(ws)
        name = nickname or "누군가"
        await self.broadcast(
            room, {"type": "system", "event": "join", "nickname": name, "content": f"{name}가 입장했습니다."}
        )
        try:
            async for message in ws:
                nickname = await self.on_frame(ws, room, nickname, message)
        except ConnectionClosed:
            pass
        finally:
            members.remove(ws)
            name = nickname or "누군가"
            leave = {"type": "system", "event": "leave", "nickname": name, "content": f"{name}가 퇴장했습니다."}
            await self.broadcast(room, leave)

    async def on_frame(self, ws: ServerConnection, room: str, nickname: str | None, message: str | bytes) -> str | None:
        if room in self.broken_rooms:  # whoever speaks in a broken room loses the connection (no close frame)
            ws.transport.abort()
            return nickname
        if isinstance(message, bytes):
            await ws.close(1003)
            return nickname
        try:
            data = json.loads(message)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            if self.breaks_room_on_bad_json:
                self.broken_rooms.add(room)
                ws.transport.abort()
            elif self.close_on_bad_json:
                await ws.close(1011)
            else:
                await ws.send(
                    json.dumps({"type": "system", "event": "error", "code": "bad_json", "content": "not JSON"})
                )
            return nickname
        if data.get("type") == "ai_msg" and self.answers_ai:
            await self.answer(ws)
            return nickname
        if data.get("type") != "user_msg" or not isinstance(data.get("content"), str) or not data["content"]:
            code = "unknown_type" if isinstance(data.get("type"), str) and data["type"] != "user_msg" else "bad_frame"
            await ws.send(json.dumps({"type": "system", "event": "error", "code": code, "content": "no"}))
            return nickname
        nickname = nickname or data.get("nickname")
        frame = {"type": "user_msg", "nickname": nickname or "누군가", "content": data["content"]}
        if not self.no_broadcast:
            await self.broadcast(room, frame)
        return nickname

    async def answer(self, ws: ServerConnection) -> None:
        """The AI, crudely: ai_quota while `quota_refusals` lasts, then one chunk."""
        if self.quota_refusals > 0:
            self.quota_refusals -= 1
            quota = {"type": "system", "event": "error", "code": "ai_quota", "content": "busy", "retry_after": 1}
            await ws.send(json.dumps(quota))
            await ws.send(json.dumps({"type": "ai_done", "status": "rejected"}))
            return
        await ws.send(json.dumps({"type": "ai_chunk", "content": "Hi."}))
        await ws.send(json.dumps({"type": "ai_done", "status": "ok"}))


@contextlib.asynccontextmanager
async def toy_server(toy: Toy | None = None) -> AsyncIterator[str]:
    """Serve a Toy on 127.0.0.1:<free port>; yields the URL template."""
    toy = toy or Toy()
    server: Server = await serve(toy.handle, "127.0.0.1", 0, process_request=toy.check_request, compression=None)
    try:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/api/v1/ws/chat/{{room_id}}"
    finally:
        server.close()
        await server.wait_closed()


@contextlib.contextmanager
def toy_in_thread(toy: Toy | None = None) -> Iterator[str]:
    """The same, in a thread with its own loop, for code that runs its own `asyncio.run` (CLI, plugin)."""
    ready: list[tuple[str, asyncio.AbstractEventLoop, asyncio.Event]] = []
    started = threading.Event()

    async def main() -> None:
        stop = asyncio.Event()
        async with toy_server(toy) as url:
            ready.append((url, asyncio.get_running_loop(), stop))
            started.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    started.wait(10)
    url, loop, stop = ready[0]
    try:
        yield url
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
