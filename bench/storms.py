"""Reconnect storms one after another on ONE server process, and its RSS after each (docs/benchmarks.md, "Memory
across reconnect storms").

    python -m bench.storms --storms 10 --pause 3                # the same 200 room names every storm
    python -m bench.storms --storms 10 --pause 3 --fresh-rooms  # new room names every storm
    python -m bench.storms --storms 10 --pause 0                # back to back, as `bench.profile --scenario storm`

The target runs as the `storm` scenario runs it (the spec's default limits; the reference with its Gemini
double), pinned to `--server-cpu`, the clients on `--loadgen-cpu`. Each storm is `storm.storm` (every client
aborted at its end); `--pause` seconds pass between storms. Printed per storm: server CPU ms per admission,
refused clients, RSS in MB after it; then the RSS `--settle` seconds after the last. What the RSS cannot say
(live objects or garbage) the in-process test says: tests/reference/test_server.py counts the objects a
connection leaves behind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Sequence

from . import servers, storm


async def storms(
    target: str,
    count: int,
    *,
    pause: float,
    fresh_rooms: bool = False,
    clients: int = storm.CLIENTS,
    settle: float = 3.0,
    cpus: tuple[int | None, int | None] = (None, None),
) -> dict[str, list[float]]:
    """`count` storms on one `target` process; per storm its figures and the RSS after it (MB), then settled.
    `cpus`: (the server's, this process's); None pins nothing."""
    if cpus[1] is not None:
        os.sched_setaffinity(0, {cpus[1]})
    figures: dict[str, list[float]] = {"rss_mb": [], "server_cpu_ms_per_admission": [], "refused": []}
    async with servers.running(target, cpu=cpus[0], limits=True) as server:
        figures["rss_mb"].append(server.rss_bytes() / 2**20)
        for index in range(count):
            result = await storm.storm(server, clients, rooms_named=f"storm{index}-" if fresh_rooms else "storm")
            figures["rss_mb"].append(server.rss_bytes() / 2**20)
            figures["server_cpu_ms_per_admission"].append(result["server_cpu_ms_per_admission"])
            figures["refused"].append(result["refused"])
            print(  # noqa: T201 - the command's output
                f"storm {index + 1}: {result['server_cpu_ms_per_admission']:.3f} ms CPU per admission, "
                f"{result['refused']:.0f} refused, RSS {figures['rss_mb'][-1]:.1f} MB",
                flush=True,
            )
            await asyncio.sleep(pause)
        await asyncio.sleep(settle)
        figures["settled_rss_mb"] = [server.rss_bytes() / 2**20]
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.storms")
    parser.add_argument("--target", default="reference", choices=servers.TARGETS)
    parser.add_argument("--storms", type=int, default=10)
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between two storms")
    parser.add_argument("--fresh-rooms", action="store_true", help="new room names for every storm")
    parser.add_argument("--clients", type=int, default=storm.CLIENTS)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after the last storm before the last RSS")
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--loadgen-cpu", type=int, default=1)
    args = parser.parse_args(argv)
    figures = asyncio.run(
        storms(
            args.target, args.storms, pause=args.pause, fresh_rooms=args.fresh_rooms, clients=args.clients,
            settle=args.settle, cpus=(args.server_cpu, args.loadgen_cpu),
        )
    )  # fmt: skip
    rss = " ".join(f"{value:.0f}" for value in figures["rss_mb"])
    print(f"RSS MB at start and after each storm: {rss}; {figures['settled_rss_mb'][0]:.1f} settled")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
