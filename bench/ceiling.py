"""The "ceiling" target: the same chat fan-out on the `websockets` library's own server with `broadcast()`.

It speaks only what the capacity, latency and stalled-reader runs need (`user_msg` in, the seed's `user_msg` out,
to the whole room) and does it the way the library recommends for fan-out: serialize once, write to every member
without awaiting any of them (`docs/topics/broadcast.rst`). It is no chat server (no AI, no limits, no presence).
Its figures show what a lean asyncio server reaches on the server core, and that the load generator can drive
more deliveries than the targets under comparison take, so it is not what limits them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence

from websockets.asyncio.server import ServerConnection, broadcast, serve

ROOMS: dict[str, set[ServerConnection]] = {}
LISTENING_PREFIX = "ceiling listening on "


async def chat(connection: ServerConnection) -> None:
    """One member: join the room named by the path's last segment, broadcast every `user_msg`, leave."""
    path = connection.request.path if connection.request is not None else "/"
    room = ROOMS.setdefault(path.split("?", 1)[0].rsplit("/", 1)[-1], set())
    room.add(connection)
    try:
        async for message in connection:
            data = json.loads(message)
            if isinstance(data, dict) and data.get("type") == "user_msg":
                frame = json.dumps(
                    {"type": "user_msg", "nickname": data.get("nickname"), "content": data.get("content")},
                    ensure_ascii=False,
                )
                broadcast(room, frame)
    finally:
        room.discard(connection)


async def serve_forever(host: str, port: int) -> None:
    async with serve(chat, host, port, compression=None) as server:
        bound = next(iter(server.sockets)).getsockname()
        print(f"{LISTENING_PREFIX}{bound[0]}:{bound[1]}", flush=True)  # noqa: T201 - read by the parent
        await server.serve_forever()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    asyncio.run(serve_forever(args.host, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
