"""The reference's fan-out path in one process, without sockets: CPU per received `user_msg` frame.

Real `Connection`s on a real `Hub` and broker, driven through `Connection.run` with ASGI messages and a send that
only counts: each received frame goes `on_text` (classification) → `publish` → `deliver` to every member → outbox
→ flush. No Hypercorn, wsproto or kernel: what the app's own code costs per frame, for A/B runs of a change:

    python -m bench.frame_path --members 10 --frames 20000 --rounds 5

prints one JSON object: the median and every round's CPU µs per received frame (`time.process_time`, which unlike
wall time does not count what other processes on a busy machine take).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Sequence
from typing import Any

from roomwire.reference.connection import Connection
from roomwire.reference.handshake import Admission
from roomwire.reference.hub import Hub
from roomwire.reference.rooms.factory import create_broker
from roomwire.reference.settings import Settings
from roomwire.spec.texts import Lang

FRAME = '{"type":"user_msg","content":"핀볼 점수 %d","id":"m-%d"}'


class Counting:
    """An ASGI send that counts the frames it is given, and wakes the waiter when enough arrived."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.frames = 0
        self.want = 0
        self.done = loop.create_future()

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send":
            self.frames += 1
            if self.frames == self.want and not self.done.done():
                self.done.set_result(None)


async def one_round(members: int, frames: int) -> float:
    """CPU µs per received frame, `frames` frames from one member to a room of `members`."""
    loop = asyncio.get_running_loop()
    settings = Settings(port=0, no_limits=True, address_limit_exempt=("",))
    hub = Hub(settings, create_broker(settings), Connection)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sends = [Counting(loop) for _ in range(members)]
    idle: asyncio.Future[dict[str, Any]] = loop.create_future()
    tasks = []
    for n, send in enumerate(sends):
        admission = Admission(room="bench", nickname=f"m{n}", lang=Lang.KO, since=None, address="")
        connection = Connection(hub, admission, {"type": "websocket", "extensions": {}}, send)
        receive = inbox.get if n == 0 else (lambda: asyncio.shield(idle))
        tasks.append(loop.create_task(connection.run(receive)))
    await asyncio.sleep(0.05)  # every member joined
    for send in sends:
        send.want = send.frames + frames
    started = time.process_time()
    for i in range(frames):
        inbox.put_nowait({"type": "websocket.receive", "text": FRAME % (i, i)})
    await asyncio.wait_for(asyncio.gather(*(send.done for send in sends)), 600)
    spent = time.process_time() - started
    inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    idle.set_result({"type": "websocket.disconnect", "code": 1000})
    await asyncio.gather(*tasks)
    return spent / frames * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args(argv)
    rounds = [asyncio.run(one_round(options.members, options.frames)) for _ in range(options.rounds)]
    result = {"members": options.members, "median_us": statistics.median(rounds), "rounds_us": rounds}
    print(json.dumps(result))  # noqa: T201 - the output is the result
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
