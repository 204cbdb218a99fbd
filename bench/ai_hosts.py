"""Where the reference runs google-genai (`--ai-worker`), compared in one run: the AI scenario's figures for each.

    python -m bench.ai_hosts --rounds 3 --json ai-hosts.json

One Gemini double (`--latency seed`, the load generator's core) and one reference server per host (`inline`,
`thread`, `process`), all pinned to the server core and started before the first round. Each round runs blocks
of the AI scenario's closed loops (`ai.py`: 20 askers, per-request pairing with the double's journal) for the SDK
alone (the floor) and through each server, in an order reversed every other block (A B C D, D C B A, ...), so that
every host spans the same minutes of a shared machine as the floor. Per round and host: ms added to TTFT (p50,
p99) and its share over the floor, and CPU per answer (a server's CPU includes its worker process).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import sys
from collections.abc import Sequence
from typing import Any

from . import ai, servers
from .run import machine

HOSTS = ("inline", "thread", "process")


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    cpus = os.cpu_count() or 1
    server_cpu, loadgen_cpu = (0, 1) if cpus >= 2 else (None, None)
    if loadgen_cpu is not None:
        os.sched_setaffinity(0, {loadgen_cpu})
    rounds: list[dict[str, Any]] = []
    async with ai.double_running(loadgen_cpu) as (url, _), contextlib.AsyncExitStack() as stack:
        hosts = tuple(args.hosts.split(","))
        running = {
            host: await stack.enter_async_context(
                servers.running("reference", cpu=server_cpu, gemini_url=url, extra_env={"ROOMWIRE_AI_WORKER": host})
            )
            for host in hosts
        }
        sides = ("floor", *hosts)
        for round_ in range(args.rounds):
            run = ai.new_run_id()
            samples: dict[str, list[ai.Sample]] = {side: [] for side in sides}
            cpu = dict.fromkeys(sides, 0.0)
            load = os.getloadavg()[0]
            for block in range(args.blocks):
                order = sides if block % 2 == 0 else tuple(reversed(sides))
                for index, side in enumerate(order):
                    first = block * 2000 + index * 400  # askers numbered apart per block and side (the tags)
                    if side == "floor":
                        got, spent = await ai.direct_samples(
                            url, args.askers, args.questions, server_cpu, run=run, first_asker=first
                        )
                    else:
                        through = await ai.server_samples(
                            running[side], args.askers, args.questions, run=run, first_asker=first
                        )
                        got, spent = through.samples, through.cpu_s
                    samples[side] += got
                    cpu[side] += spent
            upstream = await ai.journal(url, run)
            answers = args.blocks * args.askers * (args.questions + 1)
            figures: dict[str, Any] = {"round": round_, "load_average": load}
            floor = ai.added("sdk", samples["floor"], upstream)
            figures["floor"] = floor | {"cpu_ms_per_answer": 1000 * cpu["floor"] / answers}
            for host in hosts:
                result = ai.added("server", samples[host], upstream)
                result["cpu_ms_per_answer"] = 1000 * cpu[host] / answers
                result["share_p50_ms"] = result["server_added_p50_ms"] - floor["sdk_added_p50_ms"]
                result["share_p99_ms"] = result["server_added_p99_ms"] - floor["sdk_added_p99_ms"]
                figures[host] = result
            rounds.append(figures)
            print(_line(figures), flush=True)  # noqa: T201
    return {
        "command": shlex.join([sys.executable, "-m", "bench.ai_hosts", *sys.argv[1:]]),
        "pinned": {"server_cpu": server_cpu, "loadgen_cpu": loadgen_cpu},
        "machine": machine(),
        "rounds": rounds,
    }


def _line(figures: dict[str, Any]) -> str:
    floor = figures["floor"]
    parts = [f"round {figures['round']} (load {figures['load_average']:.2f}): floor p50 {floor['sdk_added_p50_ms']:.2f}"
             f" p99 {floor['sdk_added_p99_ms']:.1f} cpu {floor['cpu_ms_per_answer']:.2f}"]  # fmt: skip
    for host in (host for host in HOSTS if host in figures):
        f = figures[host]
        parts.append(
            f"{host}: share p50 {f['share_p50_ms']:.2f} p99 {f['share_p99_ms']:.1f}, before p50 "
            f"{f['server_before_p50_ms']:.2f}, after p50 {f['server_after_p50_ms']:.2f}, "
            f"cpu {f['cpu_ms_per_answer']:.2f}"
        )
    return "\n  ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ai_hosts", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hosts", default=",".join(HOSTS), help="comma-separated, of: " + ", ".join(HOSTS))
    parser.add_argument("--blocks", type=int, default=4, help="blocks per round (each side once per block)")
    parser.add_argument("--askers", type=int, default=20)
    parser.add_argument("--questions", type=int, default=6, help="counted questions per asker and block")
    parser.add_argument("--json", default="ai-hosts.json", help="where to write the results")
    args = parser.parse_args(argv)
    result = asyncio.run(bench(args))
    with open(args.json, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2, ensure_ascii=False)
    print(f"command: {result['command']}\nresults: {args.json}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
