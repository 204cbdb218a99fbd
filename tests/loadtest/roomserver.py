"""A tiny roomwire server for the load-test tests, with faults on request; run it in its own process.

    python -m tests.loadtest.roomserver [--ai-chunks N] [--chunk-delay S] [--ai-budget N] [--hang-ai]
                                        [--drop-every N] [--refuse] [--http-status N] [--no-welcome]
                                        [--close-after S]

It speaks just enough of SPEC.md for the users: welcome, join/leave and user_msg with a per-room `seq`, and
ai_msg answered by N ai_chunk + ai_done (or `ai_quota` + rejected past the budget). The faults let tests prove
that a failure is counted: `--hang-ai` never sends ai_done, `--drop-every N` skips every N-th delivery to a
member (a seq gap), `--refuse` answers every connection with `too_many_connections` and 1013 (LIMIT-006),
`--http-status N` refuses the upgrade itself, `--no-welcome` starts with a join instead of the welcome
(CONN-003), `--close-after S` closes every connection with 1012 S seconds after it opened (a restart).
It prints `PORT <n>` once listening on 127.0.0.1 and serves until killed. It runs in a separate process
because the tests that drive it run gevent-patched clients, and asyncio does not belong under gevent.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from roomwire.spec.codes import AiStatus, ErrorCode, SystemEvent
from roomwire.spec.limits import DEFAULT_LIMITS
from roomwire.spec.messages import AiChunk, AiDone, ServerUserMsg, System, encode
from roomwire.spec.texts import Lang


@dataclass
class Member:
    """One connection: its nickname and its outgoing queue, drained in order by its own writer task."""

    nickname: str
    outbox: asyncio.Queue[str] = field(default_factory=asyncio.Queue)


@dataclass
class Room:
    seq: int = 0
    members: dict[ServerConnection, Member] = field(default_factory=dict)


class RoomServer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rooms: dict[str, Room] = {}
        self.deliveries = itertools.count(1)
        self.ai_accepted = 0
        self.tasks: set[asyncio.Task[None]] = set()

    def broadcast(self, room: Room, frame: ServerUserMsg | System) -> None:
        """Queue `frame` for every member without yielding, so that every member sees room events in seq order."""
        text = encode(frame)
        for member in room.members.values():
            if self.args.drop_every and next(self.deliveries) % self.args.drop_every == 0:
                continue
            member.outbox.put_nowait(text)

    @staticmethod
    async def write(ws: ServerConnection, member: Member) -> None:
        try:
            while True:
                await ws.send(await member.outbox.get())
        except ConnectionClosed:
            pass  # the handler's `finally` removes the member

    async def handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        path, _, query = ws.request.path.partition("?")
        room_id = path.rsplit("/", 1)[-1]
        nickname = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("nickname", "Someone")
        if self.args.refuse:
            await ws.send(encode(System.error(ErrorCode.TOO_MANY_CONNECTIONS, lang=Lang.EN)))
            await ws.close(1013, "too many connections")
            return
        room = self.rooms.setdefault(room_id, Room())
        member = Member(nickname)
        members = (*(m.nickname for m in room.members.values()), nickname)
        welcome = System.welcome(
            room=room_id,
            nickname=nickname,
            seq=room.seq,
            members=members,
            limits=DEFAULT_LIMITS,
            capabilities=("ping",),
            lang=Lang.EN,
        )
        # The welcome is queued and the member added without yielding in between, and every broadcast is queued
        # synchronously: otherwise a member misses or reorders room events (CONN-004, CHAT-004), which is
        # exactly what the load test's seq checks caught in this server's first version.
        if not self.args.no_welcome:
            member.outbox.put_nowait(encode(welcome))
        room.members[ws] = member
        writer = asyncio.get_running_loop().create_task(self.write(ws, member))
        if self.args.close_after is not None:
            closing = asyncio.get_running_loop().create_task(self.close_later(ws))
            self.tasks.add(closing)
            closing.add_done_callback(self.tasks.discard)
        self.presence(room, SystemEvent.JOIN, nickname)
        try:
            async for message in ws:
                self.on_frame(ws, room, nickname, json.loads(message))
        except Exception:  # a dropped client ends its handler like a closed one
            pass
        finally:
            del room.members[ws]
            writer.cancel()
            self.presence(room, SystemEvent.LEAVE, nickname)

    async def close_later(self, ws: ServerConnection) -> None:
        await asyncio.sleep(self.args.close_after)
        await ws.close(1012, "server restarting")

    def refuse_upgrade(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.args.http_status is None:
            return None
        return connection.respond(HTTPStatus(self.args.http_status), "refused\n")

    def presence(self, room: Room, event: Any, nickname: str) -> None:
        room.seq += 1
        frame = System.presence(
            event, nickname=nickname, seq=room.seq, ts=int(time.time() * 1000), count=len(room.members), lang=Lang.EN
        )
        self.broadcast(room, frame)

    def on_frame(self, ws: ServerConnection, room: Room, nickname: str, data: dict[str, Any]) -> None:
        if data.get("type") == "user_msg":
            room.seq += 1
            frame = ServerUserMsg(
                nickname=nickname, content=data["content"], seq=room.seq, ts=int(time.time() * 1000), id=data.get("id")
            )
            self.broadcast(room, frame)
        elif data.get("type") == "ai_msg":
            task = asyncio.get_running_loop().create_task(self.answer(room.members[ws], data.get("id")))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def answer(self, member: Member, id: str | None) -> None:
        if self.args.ai_budget is not None and self.ai_accepted >= self.args.ai_budget:
            member.outbox.put_nowait(encode(System.error(ErrorCode.AI_QUOTA, id=id, retry_after=30, lang=Lang.EN)))
            member.outbox.put_nowait(encode(AiDone(status=AiStatus.REJECTED, id=id)))
            return
        self.ai_accepted += 1
        for n in range(self.args.ai_chunks):
            await asyncio.sleep(self.args.chunk_delay)
            member.outbox.put_nowait(encode(AiChunk(content=f"part {n} ", id=id)))
        if not self.args.hang_ai:
            member.outbox.put_nowait(encode(AiDone(status=AiStatus.OK, id=id)))


async def main(args: argparse.Namespace) -> None:
    server = RoomServer(args)
    async with serve(
        server.handle, "127.0.0.1", args.port, compression=None, process_request=server.refuse_upgrade
    ) as running:
        port = running.sockets[0].getsockname()[1]
        sys.stdout.write(f"PORT {port}\n")
        sys.stdout.flush()
        await asyncio.Future()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ai-chunks", type=int, default=3)
    parser.add_argument("--chunk-delay", type=float, default=0.01)
    parser.add_argument("--ai-budget", type=int, default=None)
    parser.add_argument("--hang-ai", action="store_true")
    parser.add_argument("--drop-every", type=int, default=0)
    parser.add_argument("--refuse", action="store_true")
    parser.add_argument("--http-status", type=int, default=None)
    parser.add_argument("--no-welcome", action="store_true")
    parser.add_argument("--close-after", type=float, default=None)
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
