"""An independent fan-out measurement: plain `websockets` on asyncio, its own clock, nothing of roomwire.loadtest.

    python -m tests.loadtest.fanout_probe ws://127.0.0.1:8000 --room-size 10 --rate 1 --duration 20

It opens one room of --room-size members in this one process; each member says a line every 1/--rate seconds
(from a random phase), and every other member notes when the line arrives. Send and arrival are both read from
this process's `time.perf_counter()`, so no id stamp and no cross-process clock is involved: the number is
what the load test's `fanout` measures, taken a different way. Prints JSON: samples, p50, p95 (ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time

from websockets.asyncio.client import ClientConnection, connect


async def member(url: str, name: str, args: argparse.Namespace, sent: dict[str, float], out: list[float]) -> None:
    async with connect(f"{url}?nickname={name}", compression=None, max_size=None) as ws:
        json.loads(await ws.recv())  # the welcome
        speaker = asyncio.create_task(speak(ws, name, args, sent))
        try:
            await listen(ws, name, args, sent, out)
        finally:
            speaker.cancel()


async def speak(ws: ClientConnection, name: str, args: argparse.Namespace, sent: dict[str, float]) -> None:
    await asyncio.sleep(args.settle + random.uniform(0, 1 / args.rate))
    n = 0
    while True:
        n += 1
        id = f"probe.{name}.{n}"
        sent[id] = time.perf_counter()
        await ws.send(json.dumps({"type": "user_msg", "content": "probe line", "id": id}))
        await asyncio.sleep(1 / args.rate)


async def listen(
    ws: ClientConnection, name: str, args: argparse.Namespace, sent: dict[str, float], out: list[float]
) -> None:
    async for message in ws:
        arrived = time.perf_counter()
        frame = json.loads(message)
        id = frame.get("id") or ""
        if frame.get("type") == "user_msg" and id.startswith("probe.") and id.split(".")[1] != name and id in sent:
            out.append((arrived - sent[id]) * 1000.0)


async def main(args: argparse.Namespace) -> dict[str, float | int]:
    sent: dict[str, float] = {}
    samples: list[float] = []
    url = f"{args.host}/api/v1/ws/chat/{args.room}"
    tasks = [asyncio.create_task(member(url, f"p{n}", args, sent, samples)) for n in range(args.room_size)]
    await asyncio.sleep(args.settle + args.duration)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    ordered = sorted(samples)
    return {
        "samples": len(ordered),
        "p50": statistics.median(ordered) if ordered else -1.0,
        "p95": ordered[int(len(ordered) * 0.95)] if ordered else -1.0,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("host", help="ws://host:port")
    parser.add_argument("--room", default="probe-room")
    parser.add_argument("--room-size", type=int, default=10)
    parser.add_argument("--rate", type=float, default=1.0, help="lines per second per member")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of measurement")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds to wait before speaking")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.stdout.write(json.dumps(asyncio.run(main(parse_args()))) + "\n")
