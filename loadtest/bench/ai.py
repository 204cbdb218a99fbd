"""The AI path: how much time to first chunk a server adds on top of what Gemini (the double) itself takes.

Three measurements against one double process (`--latency zero --quota off`, on the load generator's core), all
with the same question:

- the double's own TTFT: one SDK stream at a time, from `direct.py` pinned to the server's core;
- the SDK at the same concurrency: `askers` concurrent SDK streams from `direct.py` on the server's core, what
  any server that calls google-genai on one core pays (the SDK costs milliseconds of CPU per streamed request);
- through the server: each asker sends `ai_msg` over its WebSocket and waits for the first `ai_chunk`, then for
  `ai_done`, then asks again (the seed answers one question at a time per connection, so this is its best case).

`added_ttft_*` (server minus the double's own, issue 4's definition: "the seed adds ~58 ms") is everything the
server adds under concurrency; `added_over_sdk_ttft_*` (server minus the SDK at the same concurrency) is what it
adds beyond the SDK's own cost. Each asker's first question warms connection pools and is not counted.

Times to first chunk depend on how much CPU the machine leaves the server; CPU per answer does not. So the
server process's CPU milliseconds per answer (its WebSocket work plus its SDK call) are also reported next to
the direct process's (the SDK call alone): their difference is the relay's own cost per answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator

from .direct import QUESTION
from .fanout import PERCENTILES, percentile
from .servers import HOST, Server, free_port, spawn, stop
from .wsclient import open_connection

#: A server that never ends an answer (the seed after an error) fails its asker after this long.
ANSWER_TIMEOUT = 10.0


@contextlib.asynccontextmanager
async def double_running(cpu: int | None) -> AsyncIterator[tuple[str, list[str]]]:
    """The Gemini double as its own process on `cpu`; yields its base URL and command line."""
    port = free_port()
    argv = [sys.executable, "-m", "roomwire", "gemini-double", "--host", HOST, "--port", str(port),
            "--latency", "zero", "--quota", "off"]  # fmt: skip
    child = spawn(argv, cpu)
    url = f"http://{HOST}:{port}/"
    try:
        await _wait_healthy(child, url)
        yield url, argv
    finally:
        stop(child)


async def _wait_healthy(child: subprocess.Popen[bytes], url: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while True:
        if child.poll() is not None:
            raise RuntimeError(f"the Gemini double exited with {child.returncode}")
        try:
            await asyncio.to_thread(urllib.request.urlopen, f"{url}_double/health", timeout=2)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


def rename(metrics: dict[str, float], old: str, new: str) -> dict[str, float]:
    return {key.replace(old, new, 1): value for key, value in metrics.items()}


def _summary(prefix: str, samples_ns: list[int]) -> dict[str, float]:
    samples = sorted(samples_ns)
    return {f"{prefix}_ttft_{name}_ms": percentile(samples, q) / 1e6 for name, q in PERCENTILES}


async def direct_ttft(url: str, askers: int, questions: int, cpu: int | None) -> dict[str, float]:
    """The double's own time to first chunk, as the SDK sees it from `cpu` (`direct.py`, its own process)."""
    argv = [sys.executable, "-m", "roomwire.loadtest.bench.direct", "--url", url, "--askers", str(askers),
            "--questions", str(questions)]  # fmt: skip
    child = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None,
    )
    try:
        out, _ = await asyncio.wait_for(child.communicate(), 120)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    if child.returncode != 0:
        raise RuntimeError(f"the direct SDK baseline exited with {child.returncode}")
    data = json.loads(out)
    samples: list[int] = data["ttft_ns"]
    cpu_ms = 1000 * data["cpu_s"] / data["answers"]
    return _summary("direct", samples) | {"direct_answers": float(len(samples)), "direct_cpu_ms_per_answer": cpu_ms}


async def server_ttft(server: Server, askers: int, questions: int) -> dict[str, float]:
    """Time to first `ai_chunk` for `askers` connections each asking `questions` times (plus one warm-up)."""
    samples: list[int] = []
    errors = 0

    async def asker(index: int) -> None:
        nonlocal errors
        done: asyncio.Queue[int | None] = asyncio.Queue()
        state = {"start": 0, "first": 0}

        def on_text(payload: bytes) -> None:
            nonlocal errors
            if b'"ai_chunk"' in payload:
                if not state["first"]:
                    state["first"] = time.monotonic_ns() - state["start"]
            elif b'"ai_done"' in payload:
                done.put_nowait(state["first"] or None)
            elif json.loads(payload).get("event") == "error":
                errors += 1

        path = f"/api/v1/ws/chat/ai{index % 4}?nickname=a{index}"
        connection = await open_connection(HOST, server.port, path, on_text)
        frame = json.dumps({"type": "ai_msg", "nickname": f"a{index}", "content": QUESTION}).encode()
        try:
            for n in range(questions + 1):
                state["start"], state["first"] = time.monotonic_ns(), 0
                connection.send_text(frame)
                first = await asyncio.wait_for(done.get(), ANSWER_TIMEOUT)
                if n and first is not None:
                    samples.append(first)
        finally:
            connection.abort()

    cpu = server.cpu_seconds()
    results = await asyncio.gather(*(asker(i) for i in range(askers)), return_exceptions=True)
    cpu = server.cpu_seconds() - cpu
    failed = [r for r in results if isinstance(r, BaseException)]
    return _summary("server", samples) | {
        "server_cpu_ms_per_answer": 1000 * cpu / (askers * (questions + 1)),
        "server_answers": float(len(samples)),
        "server_error_notices": float(errors),
        "askers_failed": float(len(failed)),
    }
