"""The SDK's own cost per answer on each transport it supports: the floor under every server's AI path.

    python -m bench.sdk --rounds 4 --questions 25 --json sdk-results.json

google-genai streams through aiohttp when aiohttp is installed, else through httpx2 (or httpx). For each variant
below, in an order rotated every round, `direct.py` runs `--askers` concurrent closed loops of SDK streams against
the Gemini double (`--latency seed`, its own process on the load generator's core) from a process pinned to the
server core, with no server at all, and reports the CPU it spent per answer (and so answers per second of one
core) and what it added to each answer's time to first chunk (ai.py's per-request pairing with the double's
journal). Ratios are paired per round against `httpx2`, the SDK's choice without aiohttp.

Variants (reference/ai.py `http_options`: the reference's own options, one attempt, no retries):

    aiohttp        the reference's transport (`TRANSPORT`)
    httpx2         an httpx2 transport given explicitly (what the SDK uses when aiohttp is not installed)
    httpx          the same with httpx
    sdk-defaults   `HttpOptions(base_url=...)` alone: the SDK's own choice and its default retry settings
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import sys
from collections.abc import Sequence
from typing import Any

from roomwire.reference.ai import TRANSPORTS

from . import ai, report
from .run import machine

VARIANTS = (*TRANSPORTS, "sdk-defaults")
HEADLINES = report.HEADLINES["sdk"]


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    cpus = os.cpu_count() or 1
    server_cpu, loadgen_cpu = (0, 1) if cpus >= 2 else (None, None)
    if loadgen_cpu is not None:
        os.sched_setaffinity(0, {loadgen_cpu})
    runs: list[report.Run] = []
    async with ai.double_running(loadgen_cpu) as (url, double_argv):
        for round_ in range(args.rounds):
            order = VARIANTS[round_ % len(VARIANTS) :] + VARIANTS[: round_ % len(VARIANTS)]
            for variant in order:
                entry = report.Run(round=round_, scenario="sdk", target=variant, load_average=os.getloadavg()[0])
                try:
                    result = await ai.direct_added(url, args.askers, args.questions, server_cpu, variant=variant)
                    result["answers_per_core_s"] = 1000 / result["sdk_cpu_ms_per_answer"]
                    entry.metrics = result
                except Exception as exc:  # a failed run is a result; the others still run
                    entry.error = f"{type(exc).__name__}: {exc}"
                runs.append(entry)
                brief = entry.error or ", ".join(f"{k}={entry.metrics[k]:.4g}" for k, _, _ in HEADLINES)
                print(f"round {round_} {variant:<13} {brief}", flush=True)  # noqa: T201
    return {
        "command": shlex.join([sys.executable, "-m", "bench.sdk", *sys.argv[1:]]),
        "pinned": {"server_cpu": server_cpu, "loadgen_cpu": loadgen_cpu},
        "double": shlex.join(double_argv),
        "machine": machine(),
        "runs": [r.to_json() for r in runs],
        "summary": report.summarize(runs, base="httpx2"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sdk", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--askers", type=int, default=20)
    parser.add_argument("--questions", type=int, default=25, help="counted questions per asker")
    parser.add_argument("--json", default="sdk-results.json", help="where to write the results")
    args = parser.parse_args(argv)
    result = asyncio.run(bench(args))
    with open(args.json, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2, ensure_ascii=False, allow_nan=False)
    summary = report.table(result["summary"], list(VARIANTS), base="httpx2")
    print(f"\n{summary}\n\ncommand: {result['command']}\nresults: {args.json}")  # noqa: T201
    return 1 if any(r["error"] for r in result["runs"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
