"""The benchmark driver: scenarios × targets × rounds, rotated, pinned, bounded, then a table and a JSON file.

Usage (`--help` for every option):

    python -m bench                   # full: 3 rounds, every scenario, seed/reference/ceiling/node
    python -m bench --quick           # one short round: proves it runs, measures little
    python -m bench --targets seed,ceiling --scenarios capacity10,stall

This process is the load generator and pins itself to `--loadgen-cpu`; every server is a fresh process pinned to
`--server-cpu` (the Gemini double, for the AI scenario, shares the load generator's core). In round `r` the
targets run in an order rotated by `r`, scenario by scenario, so each pair being compared runs seconds apart. A
run that fails is recorded with its error and the benchmark goes on; every process is stopped by the context
manager that started it, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import json
import math
import os
import platform
import shlex
import sys
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from . import ai, ai_share, fanout, idle, node_ws, report, servers, storm

Launch = Callable[..., contextlib.AbstractAsyncContextManager[servers.Server]]


@dataclass(frozen=True)
class Options:
    timing: fanout.Timing
    server_cpu: int | None
    loadgen_cpu: int | None
    idle_connections: int
    ai_questions: int
    askers: int = 20
    quick: bool = False
    storm_clients: int = storm.CLIENTS


async def capacity10(launch: Launch, o: Options) -> dict[str, float]:
    async with launch() as server:
        return await fanout.capacity(server, o.timing, room_size=10)


async def capacity100(launch: Launch, o: Options) -> dict[str, float]:
    async with launch() as server:
        return await fanout.capacity(server, o.timing, room_size=100)


async def latency(launch: Launch, o: Options) -> dict[str, float]:
    async with launch() as server:
        return await fanout.latency(server, o.timing)


async def stall(launch: Launch, o: Options) -> dict[str, float]:
    """Control, stalled, control again, in one server process, each in its own room: the fraction divides by the
    mean of the two controls. Two server processes compared on a shared core differed by more than the 10% the
    target allows (docs/benchmarks.md), and a drift within one process cancels out between the controls."""
    async with launch() as server:
        before = await fanout.stalled_reader(server, o.timing, stalled=False, name="control-a")
        stalled = await fanout.stalled_reader(server, o.timing, stalled=True, name="stalled")
        after = await fanout.stalled_reader(server, o.timing, stalled=False, name="control-b")
    rate = "deliveries_per_s_to_9"
    control = (before[rate] + after[rate]) / 2
    fraction = stalled[rate] / control if control else float("nan")
    return {
        "control_deliveries_per_s": control,
        "control_before_deliveries_per_s": before[rate],
        "control_after_deliveries_per_s": after[rate],
        "stalled_deliveries_per_s": stalled[rate],
        "fraction": fraction,
    }


async def ai_path(launch: Launch, o: Options) -> report.Measured:
    """Per-request ms added to time to first chunk, through the server and (the floor) by the SDK alone (`ai.py`)."""
    async with ai.double_running(o.loadgen_cpu) as (url, _), launch(gemini_url=url) as server:
        both = await ai.side_by_side(server, url, o.askers, o.ai_questions, o.server_cpu, blocks=1 if o.quick else 4)
    beyond = {
        f"added_beyond_sdk{wire}_{p}_ms": both.get(f"server_added{wire}_{p}_ms", math.nan) - both[f"sdk_added_{p}_ms"]
        for p in ("p50", "p99")
        for wire in ("", "_wire")
    }
    relay_cpu = {"relay_cpu_ms_per_answer": both["server_cpu_ms_per_answer"] - both["sdk_cpu_ms_per_answer"]}
    return report.Measured(both | beyond | relay_cpu, both.per_answer)


async def admission_storm(launch: Launch, o: Options) -> dict[str, float]:
    """A reconnect storm (storm.py): server CPU per admitted connection, and how many were refused."""
    async with launch(limits=True) as server:
        return await storm.storm(server, clients=o.storm_clients)


async def idle_connections(launch: Launch, o: Options) -> dict[str, float]:
    async with launch() as server:
        return await idle.idle_memory(server, o.idle_connections)


#: name -> (runner, targets it applies to)
SCENARIOS: dict[str, tuple[Callable[[Launch, Options], Awaitable[dict[str, float]]], tuple[str, ...]]] = {
    "capacity10": (capacity10, servers.TARGETS),
    "capacity100": (capacity100, servers.TARGETS),
    "latency": (latency, servers.TARGETS),
    "stall": (stall, servers.TARGETS),
    "ai": (ai_path, ("seed", "reference", "ceiling")),
    "idle": (idle_connections, servers.TARGETS),
    "storm": (admission_storm, servers.TARGETS),
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one short round, 1,000 idle connections")
    parser.add_argument("--rounds", type=int, help="rounds (default 3, 1 with --quick)")
    parser.add_argument(
        "--targets", help=f"comma-separated, of {', '.join(servers.TARGETS)} (default: all; node only where installed)"
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument("--idle-connections", type=int, help="default 10,000 (1,000 with --quick)")
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--loadgen-cpu", type=int, default=1)
    parser.add_argument("--json", default="bench-results.json", help="where to write the results")
    parser.add_argument(
        "--nice", type=int, default=0, help="scheduling priority of the benchmark and its servers (root may go < 0)"
    )
    args = parser.parse_args(argv)
    if args.targets is None:
        args.targets = ",".join(t for t in servers.TARGETS if t != "node" or node_ws.available())
    unknown = set(args.scenarios.split(",")) - set(SCENARIOS) | set(args.targets.split(",")) - set(servers.TARGETS)
    if unknown:
        parser.error(f"unknown scenario or target: {', '.join(sorted(unknown))}")
    return args


def machine() -> dict[str, object]:
    packages = ("uvicorn", "fastapi", "starlette", "hypercorn", "quart", "wsproto", "h11", "websockets", "google-genai")
    versions = {}
    for name in packages:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
        "packages": versions,
    }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    cpus = os.cpu_count() or 1
    pinned = cpus > max(args.server_cpu, args.loadgen_cpu)
    if pinned:
        os.sched_setaffinity(0, {args.loadgen_cpu})
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # inherited by every server it starts
    options = Options(
        timing=fanout.QUICK if args.quick else fanout.FULL,
        server_cpu=args.server_cpu if pinned else None,
        loadgen_cpu=args.loadgen_cpu if pinned else None,
        idle_connections=args.idle_connections or (1_000 if args.quick else 10_000),
        ai_questions=3 if args.quick else 24,
        quick=args.quick,
        storm_clients=200 if args.quick else storm.CLIENTS,
    )
    fd_limit = idle.raise_fd_limit()
    targets, rounds = args.targets.split(","), args.rounds or (1 if args.quick else 3)
    runs: list[report.Run] = []
    commands: dict[str, list[str]] = {}
    started = time.monotonic()
    for round_ in range(rounds):
        order = targets[round_ % len(targets) :] + targets[: round_ % len(targets)]
        for scenario in args.scenarios.split(","):
            runner, applies = SCENARIOS[scenario]
            for target in (t for t in order if t in applies):
                run = report.Run(round=round_, scenario=scenario, target=target, load_average=os.getloadavg()[0])
                launch = _launcher(target, options, commands)
                try:
                    measured = await runner(launch, options)
                    run.metrics = dict(measured)
                    run.per_answer = measured.per_answer if isinstance(measured, report.Measured) else {}
                except Exception as exc:  # a failed run is a result; the others still run
                    run.error = f"{type(exc).__name__}: {exc}"
                    traceback.print_exc()
                runs.append(run)
                print(f"round {round_} {scenario:<11} {target:<9} {run.error or _brief(run.metrics)}", flush=True)  # noqa: T201
    return {
        "command": shlex.join([sys.executable, "-m", "bench", *sys.argv[1:]]),
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started, 1),
        "quick": args.quick,
        "rounds": rounds,
        "pinned": {"server_cpu": options.server_cpu, "loadgen_cpu": options.loadgen_cpu},
        "fd_limit": fd_limit,
        "machine": machine(),
        "server_commands": {t: shlex.join(c) for t, c in commands.items()},
        "runs": [r.to_json() for r in runs],
        "summary": report.summarize(runs),
        "summary_vs_node": report.summarize(runs, base="node") if "node" in targets else None,
        "ai_share_pooled": {t: dataclasses.asdict(p) for t, p in ai_share.pooled(runs).items()},
        "targets": targets,
    }


def _launcher(target: str, options: Options, commands: dict[str, list[str]]) -> Launch:
    @contextlib.asynccontextmanager
    async def launch(gemini_url: str | None = None, limits: bool = False) -> AsyncIterator[servers.Server]:
        async with servers.running(target, cpu=options.server_cpu, gemini_url=gemini_url, limits=limits) as server:
            name = f"{target} (AI)" if gemini_url is not None else f"{target} (limits)" if limits else target
            commands.setdefault(name, server.argv)
            yield server

    return launch


def _brief(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in list(metrics.items())[:4])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    result = asyncio.run(bench(args))
    with open(args.json, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2, ensure_ascii=False, allow_nan=False)
    loads = sorted(r["load_average"] for r in result["runs"] if r["load_average"] is not None)
    machine_note = f"machine load (1-min average) at run starts: {loads[0]:.1f}–{loads[-1]:.1f}" if loads else ""
    tables = [report.table(result["summary"], result["targets"])]
    if result["summary_vs_node"] is not None:  # the reference against what another ecosystem would use
        against_node = [t for t in result["targets"] if t != "seed"]
        tables.append(report.table(result["summary_vs_node"], against_node, base="node"))
    pooled = {t: ai_share.Pooled(**p) for t, p in result["ai_share_pooled"].items()}
    tables += ["\n".join(ai_share.lines(pooled))] if pooled else []
    print("\n" + "\n\n".join(tables) + f"\n\n{machine_note}\nresults: {args.json}")  # noqa: T201
    failed = [r for r in result["runs"] if r["error"]]
    return 1 if failed else 0
