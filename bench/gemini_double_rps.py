"""How many streaming requests per second the Gemini double sustains, as a ratio to a bare Hypercorn app.

The double must never be the bottleneck of a load test (issue 3). This measures it the only way that means
something on a shared 2-core machine: side by side with a baseline under the same client, alternating rounds.

- `double`: `roomwire gemini-double --latency zero --quota off`, in its own process.
- `baseline`: a bare ASGI app under the same Hypercorn settings (`server.hypercorn_config`) that reads the request
  and streams precomputed bytes: the very SSE events the double sends for the benchmark prompt. Everything the
  double does beyond that (routing, key check, parsing, planning the answer, journaling) is what the ratio prices.

Each server runs in its own process pinned to the last CPU, the client (httpx, or the real SDK with
`--client sdk`) to the first. Besides requests per second the report gives the server's CPU time per request
(from /proc), which does not depend on how fast the client is: 1000 / cpu_ms is what one core can serve.

    python -m bench.gemini_double_rps --seconds 5 --rounds 3 --concurrency 16 --client httpx

Prints a table and one JSON line (`--json` prints only the JSON). Exit 0, or 3 when a server does not start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from roomwire.gemini_double.asgi import Receive, Scope, Send

from .child import command as child_command
from .child import environment as child_environment

FAKE_KEY = "AIzaFAKE-roomwire-gemini-double-test-00"  # FAKE test key (the double's FAKE_API_KEY)
PROMPT = "How do tide pools form? [[sentences=3]]"
MODEL = "gemini-2.5-flash"
PATH = f"/v1/models/{MODEL}:streamGenerateContent?alt=sse"
TARGETS = ("double", "baseline")


@dataclass
class Round:
    target: str
    requests: int
    errors: int
    seconds: float
    server_cpu_s: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000.0 * self.server_cpu_s / max(self.requests, 1)


# --- the baseline server (run as a child process with --serve-baseline) ------------------------------------------


def baseline_events() -> list[bytes]:
    """The SSE events the double streams for PROMPT (same planner, same framing), computed once."""
    from roomwire.gemini_double import canned, wire
    from roomwire.gemini_double.answers import plan_answer
    from roomwire.gemini_double.request import parse_generate

    body = json.dumps({"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}).encode()
    answer = plan_answer(parse_generate(body), seed=0, bank=canned.sentence_bank())
    return [wire.sse_event(chunk) for chunk in wire.stream_chunks(answer, MODEL, wire.response_id(0, 1))]


def baseline_app(events: list[bytes]) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    headers = [(b"content-type", b"text/event-stream")]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for event in events:
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


async def serve_baseline() -> None:
    from hypercorn.asyncio import serve

    from roomwire.gemini_double.server import hypercorn_config, listen

    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"baseline serving on http://127.0.0.1:{port}/", flush=True)  # noqa: T201 - read by the parent
    await serve(baseline_app(baseline_events()), hypercorn_config(sock.detach()), shutdown_trigger=stop.wait)


# --- the client -------------------------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def running(target: str, server_cpu: int | None) -> AsyncIterator[tuple[str, int]]:
    """Start `target` in its own process; yield (base URL, pid); always stop it."""
    if target == "double":
        argv, env = [sys.executable, "-m", "roomwire", "gemini-double", "--port", "0", "--latency", "zero",
                     "--quota", "off"], None  # fmt: skip
    else:
        argv, env = child_command("bench.gemini_double_rps", "--serve-baseline"), child_environment()
    child = await asyncio.create_subprocess_exec(*argv, env=env, stdout=asyncio.subprocess.PIPE)
    try:
        if server_cpu is not None:
            os.sched_setaffinity(child.pid, {server_cpu})
        assert child.stdout is not None
        line = (await asyncio.wait_for(child.stdout.readline(), 30)).decode()
        if " on http://" not in line:
            raise RuntimeError(f"{target} did not start: {line!r}")
        yield line.split(" on ", 1)[1].split()[0], child.pid
    finally:
        if child.returncode is None:
            child.terminate()
        try:
            await asyncio.wait_for(child.wait(), 10)
        except TimeoutError:  # pragma: no cover - a hung server
            child.kill()
            await child.wait()


Worker = Callable[[float, list[int]], Awaitable[None]]


@asynccontextmanager
async def httpx_load(base_url: str) -> AsyncIterator[Worker]:
    """Workers sharing one httpx client (one connection per worker), streaming each answer to the end."""
    body = {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}
    headers = {"x-goog-api-key": FAKE_KEY}
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=30, limits=limits) as client:

        async def worker(until: float, counts: list[int]) -> None:
            while time.monotonic() < until:
                async with client.stream("POST", PATH, json=body, headers=headers) as response:
                    async for _ in response.aiter_raw():
                        pass
                counts[0 if response.status_code == 200 else 1] += 1

        yield worker


@asynccontextmanager
async def sdk_load(base_url: str) -> AsyncIterator[Worker]:
    """Workers sharing one real google-genai client, as a backend built on the SDK would."""
    from google import genai
    from google.genai import types

    client = genai.Client(api_key=FAKE_KEY, http_options=types.HttpOptions(base_url=base_url))

    async def worker(until: float, counts: list[int]) -> None:
        while time.monotonic() < until:
            try:
                async for _ in await client.aio.models.generate_content_stream(model=MODEL, contents=PROMPT):
                    pass
                counts[0] += 1
            except Exception:  # counted, and the round goes on: the table shows the errors
                counts[1] += 1

    try:
        yield worker
    finally:
        await client.aio.aclose()


async def measure(target: str, seconds: float, concurrency: int, client: str, server_cpu: int | None) -> Round:
    load = sdk_load if client == "sdk" else httpx_load
    async with running(target, server_cpu) as (base_url, pid), load(base_url) as worker:
        warm_up = time.monotonic() + min(1.0, seconds / 2)
        await asyncio.gather(*(worker(warm_up, [0, 0]) for _ in range(concurrency)))
        counts = [0, 0]
        cpu_before, started = _cpu_seconds(pid), time.monotonic()
        await asyncio.gather(*(worker(started + seconds, counts) for _ in range(concurrency)))
        elapsed, cpu = time.monotonic() - started, _cpu_seconds(pid) - cpu_before
    return Round(target=target, requests=counts[0], errors=counts[1], seconds=elapsed, server_cpu_s=cpu)


def summary(rounds: list[Round]) -> dict[str, Any]:
    result: dict[str, Any] = {"rounds": [asdict(r) | {"rps": round(r.rps, 1)} for r in rounds]}
    for target in TARGETS:
        mine = [r for r in rounds if r.target == target]
        result[target] = {
            "rps_median": round(statistics.median(r.rps for r in mine), 1),
            "server_cpu_ms_per_request_median": round(statistics.median(r.cpu_ms_per_request for r in mine), 3),
            "errors": sum(r.errors for r in mine),
        }
    result["rps_ratio_double_to_baseline"] = round(result["double"]["rps_median"] / result["baseline"]["rps_median"], 3)
    result["cpu_ratio_double_to_baseline"] = round(
        result["double"]["server_cpu_ms_per_request_median"] / result["baseline"]["server_cpu_ms_per_request_median"],
        3,
    )
    result["double_capacity_per_core_rps"] = round(1000 / result["double"]["server_cpu_ms_per_request_median"], 1)
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = cpus[-1] if len(cpus) > 1 else None
    if server_cpu is not None:
        os.sched_setaffinity(0, set(cpus[:-1]))
    rounds: list[Round] = []
    for number in range(args.rounds):
        for target in TARGETS if number % 2 == 0 else TARGETS[::-1]:
            rounds.append(await measure(target, args.seconds, args.concurrency, args.client, server_cpu))
    result = summary(rounds)
    result["settings"] = vars(args) | {"server_cpu": server_cpu, "client_cpus": cpus[:-1] if server_cpu else cpus}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one round (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per target, alternating (default 3)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--client", choices=("httpx", "sdk"), default="httpx", help="load generator (default httpx)")
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    parser.add_argument("--serve-baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_baseline:
        asyncio.run(serve_baseline())
        return 0
    try:
        result = asyncio.run(run(args))
    except RuntimeError as exc:
        print(f"gemini_double_rps: {exc}", file=sys.stderr)  # noqa: T201
        return 3
    if not args.json:
        for target in TARGETS:
            row = result[target]
            print(  # noqa: T201 - the benchmark's report
                f"{target:9} {row['rps_median']:8.1f} req/s   server CPU {row['server_cpu_ms_per_request_median']:.3f} "
                f"ms/request   errors {row['errors']}"
            )
        print(  # noqa: T201
            f"ratio double/baseline: {result['rps_ratio_double_to_baseline']} (req/s), "
            f"{result['cpu_ratio_double_to_baseline']} (CPU per request); "
            f"double capacity ~{result['double_capacity_per_core_rps']} req/s per core"
        )
    print(json.dumps(result))  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
