"""Scale-out benchmark: fan-out with two reference instances on one Redis, next to one instance, side by side.

    python -m bench.scaleout [--quick] [--rounds 3] [--json scaleout-results.json]

Configurations, each started fresh for every run (`roomwire serve --no-limits`, fake Gemini):

    memory-1   one instance, in-memory broker (the default)
    redis-1    one instance, Redis broker, one `redis-server`
    redis-2    two instances on one `redis-server`; a room's members alternate between the two, so every
               event is published by one instance and delivered through Redis by both

Scenarios (bench/room.py stamps and counts frames; fanout.py's definitions): `capacity10` and `capacity100`,
closed loop (10 senders, 16 frames in flight each) in a room of 10 or 100: deliveries/s and server CPU per
delivery (instances and redis-server together); `latency`, open loop at 5,000 deliveries/s in a room of 10:
p50/p99 from the sender's due time to each receiver, and the fraction delivered.

In round `r` the configurations run in an order rotated by `r`, scenario by scenario. Ratios are paired per
round (report.py) against `memory-1` and, for `redis-2`, against `redis-1`. With at least 5 CPUs every process
gets its own core (load generator, redis-server, each instance); with fewer nothing is pinned and the report says
so: two instances on a 2-core machine compete with the load generator and Redis for the same cores, which
measures Redis's overhead, not the capacity more machines would add.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psutil

from . import report
from .fanout import FULL, QUICK, Timing, percentile
from .room import Room
from .run import machine as machine_facts
from .servers import HOST, environment, free_port, spawn, stop
from .wsclient import BenchConnection, open_connection

CONFIGS = ("memory-1", "redis-1", "redis-2")
SCENARIOS = ("capacity10", "capacity100", "latency")
LATENCY_LOAD = 5000.0  # deliveries/s offered in `latency` (room of 10: 500 frames/s)


@dataclass
class Cluster:
    """The processes of one configuration: where clients connect, and whose CPU counts."""

    ports: list[int]
    processes: list[psutil.Process]
    commands: list[list[str]] = field(default_factory=list)

    def cpu_seconds(self) -> float:
        return sum(float(t.user + t.system) for t in (p.cpu_times() for p in self.processes))


def instance_command(port: int, broker: str | None) -> list[str]:
    command = [sys.executable, "-m", "roomwire", "serve", "--host", HOST, "--port", str(port), "--no-limits"]
    return command + (["--broker", broker] if broker else [])


def redis_command(port: int, directory: str) -> list[str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    return [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--dir", directory]


@contextlib.asynccontextmanager
async def cluster(config: str, cpus: list[int | None]) -> AsyncIterator[Cluster]:
    """Start `config` (redis first, then the instances), wait until each upgrades a WebSocket; stop all after."""
    children = []
    result = Cluster([], [])
    with tempfile.TemporaryDirectory(prefix="bench-scaleout-") as directory:
        try:
            broker = None
            if config.startswith("redis"):
                redis_port = free_port()
                argv = redis_command(redis_port, directory)
                children.append(spawn(argv, cpus[1]))
                result.commands.append(argv)
                broker = f"redis://{HOST}:{redis_port}/0"
                await _wait_redis(redis_port)
            for n in range(int(config.rsplit("-", 1)[1])):
                port = free_port()
                argv = instance_command(port, broker)
                children.append(spawn(argv, cpus[2 + n], env=environment("reference", None, {})))
                result.commands.append(argv)
                await _wait_upgrade(port)
                result.ports.append(port)
            result.processes = [psutil.Process(child.pid) for child in children]
            yield result
        finally:
            for child in reversed(children):
                await stop(child)


async def _wait_redis(port: int, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            pass
        else:
            try:  # a starting redis-server may answer -LOADING or close: the writer is closed whatever came
                writer.write(b"PING\r\n")
                if (await reader.readline()).startswith(b"+PONG"):
                    return
            except OSError:
                pass
            finally:
                writer.close()
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not answer on port {port}")
        await asyncio.sleep(0.05)


async def _wait_upgrade(port: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            (await open_connection(HOST, port, "/api/v1/ws/chat/bench-ready?nickname=ready", within=2.0)).abort()
            return
        except (OSError, TimeoutError):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no instance upgraded a WebSocket on port {port} within {within} s") from None
            await asyncio.sleep(0.1)


@dataclass
class SpreadRoom(Room):
    """A bench room whose member `i` connects to instance `i % len(ports)`."""

    ports: tuple[int, ...] = ()

    async def _connect(self, index: int) -> BenchConnection:
        port = self.ports[index % len(self.ports)]
        return await open_connection(self.host, port, self.path, self._receiver(index))


async def measure(scenario: str, where: Cluster, timing: Timing) -> dict[str, float]:
    size = 100 if scenario == "capacity100" else 10
    room = SpreadRoom(HOST, where.ports[0], f"{scenario}-{time.monotonic_ns()}", size=size, senders=10)
    room.ports = tuple(where.ports)
    try:
        await room.join()
        if scenario != "latency":
            room.start_closed_loop()
            await asyncio.sleep(timing.warmup)
            return await _window(room, where, timing.measure)
        seconds = timing.warmup + timing.measure
        before = (room.tally.deliveries, where.cpu_seconds(), time.monotonic())
        await room.open_loop(LATENCY_LOAD / room.size, seconds, record_after=timing.warmup)
        await asyncio.sleep(0.5)  # stragglers; later ones count as lost
        samples = sorted(room.tally.latencies_ns)
        result = {f"latency_{name}_ms": percentile(samples, q) / 1e6 for name, q in (("p50", 0.5), ("p99", 0.99))}
        result["delivered_fraction"] = len(samples) / (LATENCY_LOAD * timing.measure)
        cpu = where.cpu_seconds() - before[1]
        result["server_cpu_us_per_delivery"] = cpu / max(1, room.tally.deliveries - before[0]) * 1e6
        return result
    finally:
        room.close()


async def _window(room: Room, where: Cluster, seconds: float) -> dict[str, float]:
    deliveries, cpu, wall, gen = room.tally.deliveries, where.cpu_seconds(), time.monotonic(), time.process_time()
    await asyncio.sleep(seconds)
    wall = time.monotonic() - wall
    deliveries = room.tally.deliveries - deliveries
    cpu = where.cpu_seconds() - cpu
    return {
        "deliveries_per_s": deliveries / wall,
        "server_cpu_us_per_delivery": cpu / deliveries * 1e6 if deliveries else float("nan"),
        "server_cpu_share": cpu / wall,
        "loadgen_cpu_share": (time.process_time() - gen) / wall,
    }


def placement() -> list[int | None]:
    """[load generator, redis-server, instance 1, instance 2]: own cores with >= 5 CPUs, else unpinned."""
    cpus = os.cpu_count() or 1
    return [0, 1, 2, 3] if cpus >= 5 else [None] * 4


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    cpus = placement()
    if cpus[0] is not None:
        os.sched_setaffinity(0, {cpus[0]})
    timing = QUICK if args.quick else FULL
    rounds = args.rounds or (1 if args.quick else 3)
    runs: list[report.Run] = []
    commands: dict[str, str] = {}
    for round_ in range(rounds):
        order = CONFIGS[round_ % 3 :] + CONFIGS[: round_ % 3]
        for scenario in args.scenarios.split(","):
            for config in order:
                entry = report.Run(round=round_, scenario=scenario, target=config, load_average=os.getloadavg()[0])
                try:
                    async with cluster(config, cpus) as where:
                        commands.setdefault(config, " && ".join(shlex.join(c) for c in where.commands))
                        entry.metrics = await measure(scenario, where, timing)
                except Exception as exc:  # a failed run is a result; the others still run
                    entry.error = f"{type(exc).__name__}: {exc}"
                runs.append(entry)
                brief = entry.error or ", ".join(f"{k}={v:.4g}" for k, v in entry.metrics.items())
                print(f"round {round_} {scenario:<11} {config:<8} {brief}", flush=True)  # noqa: T201
    return {
        "command": shlex.join([sys.executable, "-m", "bench.scaleout", *sys.argv[1:]]),
        "pinned": cpus[0] is not None,
        "machine": machine_facts(),
        "server_commands": commands,
        "runs": [r.to_json() for r in runs],
        "summary": report.summarize(runs, base="memory-1"),
        "summary_vs_redis_1": report.summarize(runs, base="redis-1"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    prog, about = "python -m bench.scaleout", __doc__.split("\n")[0]
    parser = argparse.ArgumentParser(prog=prog, description=about)
    parser.add_argument("--quick", action="store_true", help="one short round")
    parser.add_argument("--rounds", type=int, help="rounds (default 3, 1 with --quick)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    parser.add_argument("--json", default="scaleout-results.json", help="where to write the results")
    args = parser.parse_args(argv)
    if set(args.scenarios.split(",")) - set(SCENARIOS):
        parser.error(f"scenarios are {', '.join(SCENARIOS)}")
    result = asyncio.run(bench(args))
    with open(args.json, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2, ensure_ascii=False, allow_nan=False)
    pinned = "pinned: one core each" if result["pinned"] else f"NOT pinned ({os.cpu_count()} CPUs: all share them)"
    tables = (
        report.table(result["summary"], list(CONFIGS), base="memory-1"),
        report.table(result["summary_vs_redis_1"], ["redis-1", "redis-2"], base="redis-1"),
    )
    loads = sorted(r["load_average"] for r in result["runs"])
    machine = f"machine load (1-min average) at run starts: {loads[0]:.1f}-{loads[-1]:.1f}"
    print(f"\n{tables[0]}\n\n{tables[1]}\n\n{pinned}; {machine}\ncommand: {result['command']}\nresults: {args.json}")  # noqa: T201
    return 1 if any(r["error"] for r in result["runs"]) else 0


if __name__ == "__main__":
    sys.exit(main())
