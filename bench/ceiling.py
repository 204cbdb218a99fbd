"""The "ceiling" target: the same chat fan-out on the `websockets` library's own server with `broadcast()`, and, given
a Gemini double, the leanest AI path a Python team would write.

It speaks only what the benchmark's scenarios need. Chat: `user_msg` in, the seed's `user_msg` out, to the whole
room, the way the library recommends for fan-out: serialize once, write to every member without awaiting any of
them (`docs/topics/broadcast.rst`). AI (`--gemini-base-url`): an `ai_msg` is answered in the connection's own
handler, through google-genai as the AI floor calls it (`direct.py`: the reference's SDK client and options, the
same request), each text piece sent as an `ai_chunk` as it comes, then `ai_done`; no task per answer, no budget, no
history, no key scrubbing, no error notices. It is no chat server (no limits, no presence). Its figures show what a
lean asyncio server reaches on the server core: for fan-out, that the load generator can drive more deliveries than
the targets under comparison take; for the AI path, what any server adds over the SDK alone just by receiving a
question over a WebSocket on a core that also runs the other askers' SDK work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection, broadcast, serve

if TYPE_CHECKING:
    from .direct import Floor

ROOMS: dict[str, set[ServerConnection]] = {}
LISTENING_PREFIX = "ceiling listening on "


async def chat(connection: ServerConnection, ai: Floor | None = None) -> None:
    """One member: join the room named by the path's last segment, broadcast every `user_msg`, answer every
    `ai_msg` when `ai` is given, leave."""
    path = connection.request.path if connection.request is not None else "/"
    room = ROOMS.setdefault(path.split("?", 1)[0].rsplit("/", 1)[-1], set())
    room.add(connection)
    try:
        async for message in connection:
            data = json.loads(message)
            if not isinstance(data, dict):
                continue
            if data.get("type") == "user_msg":
                frame = json.dumps(
                    {"type": "user_msg", "nickname": data.get("nickname"), "content": data.get("content")},
                    ensure_ascii=False,
                )
                broadcast(room, frame)
            elif data.get("type") == "ai_msg" and ai is not None:
                async for text in ai.answer(str(data.get("content"))):
                    await connection.send(json.dumps({"type": "ai_chunk", "content": text}, ensure_ascii=False))
                await connection.send('{"type":"ai_done","status":"ok"}')
    finally:
        room.discard(connection)


async def serve_forever(host: str, port: int, gemini_base_url: str | None = None) -> None:
    ai = None
    if gemini_base_url:
        from .direct import Floor  # google-genai only when asked for

        ai = Floor(gemini_base_url)

    async def handler(connection: ServerConnection) -> None:
        await chat(connection, ai)

    async with serve(handler, host, port, compression=None) as server:
        bound = next(iter(server.sockets)).getsockname()
        print(f"{LISTENING_PREFIX}{bound[0]}:{bound[1]}", flush=True)  # noqa: T201 - read by the parent
        await server.serve_forever()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--gemini-base-url", help="answer ai_msg through google-genai at this Gemini double")
    args = parser.parse_args(argv)
    asyncio.run(serve_forever(args.host, args.port, args.gemini_base_url))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
