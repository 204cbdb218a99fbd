"""The AI path: how many milliseconds a server adds to each answer's time to first chunk, measured per request.

Issue 4: "the server adds ≤ 5 ms p99 to time-to-first-chunk with 20 concurrent askers". The Gemini double
journals, for every request, when it arrived (`received_ms`) and when each chunk went out (`chunk_times_ms`),
both `time.monotonic()`: CLOCK_MONOTONIC, one clock for every process on the machine. The load generator stamps
when it sent each `ai_msg` and when the first `ai_chunk` came back with `time.monotonic_ns()`. Each question
carries a tag (`#run-asker-n`, `direct.question`) that the double records in `last_user_text`, so every answer
is paired with its own journal entry, and for each:

    added = (client got its first ai_chunk − client sent ai_msg) − (double sent chunk 1 − double got the request)
          = before (client sent → double got the request) + after (double sent chunk 1 → client got it)

i.e. everything between the asker and Gemini except Gemini's own time: the server's WebSocket work, the SDK's
request building, HTTP to the double, parsing the first chunk, relaying it, and any queueing behind other work.

The load (`Options.askers` = 20): 20 connections, each a closed loop that asks, waits for `ai_done`, and asks
again at once, so exactly 20 questions are in flight at all times ("20 concurrent askers"; the seed handles one
question per connection at a time, so one asker cannot have more). The double runs with `--latency seed`
(first chunk after 210-370 ms drawn per request, then one chunk every 60 ms: Gemini's timing as measured for
the seed), so the offered rate (~40 questions/s) is set by the upstream, as in production; with `zero` a closed
loop would saturate the server's core and measure its throughput, not what it adds to one answer. Each asker's
first question (connection pools, imports) is not counted.

The same loop without any server (`direct.py`: 20 concurrent SDK streams from a process pinned to the server's
core, same tags, same pairing) measures what the SDK alone adds there: the floor for any server that answers
through google-genai on one core. CPU milliseconds per answer (psutil over the run) are reported for both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass

from roomwire.reference.ai import TRANSPORT

from .child import command as child_command
from .child import environment as child_environment
from .direct import question
from .report import Measured
from .servers import HOST, Server, free_port, listens, spawn, stop
from .wsclient import open_connection

#: A server that never ends an answer (the seed after an error) fails its asker after this long.
ANSWER_TIMEOUT = 10.0
#: The double's timing preset for the whole scenario, for both servers and the SDK floor.
LATENCY = "seed"
PERCENTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
#: Alternating floor/server blocks per run (`side_by_side`).
BLOCKS = 4
_TAG = re.compile(r"#(\d+)-(\d+)-(\d+)")


@dataclass(frozen=True)
class Sample:
    """One question as the asker saw it (`time.monotonic_ns()`; `first_ns` 0 when no chunk came). `wire_ns`: when
    the first chunk's bytes reached the asker's socket, by the kernel's stamp (0 for the floor, or without stamps)."""

    asker: int
    n: int
    sent_ns: int
    first_ns: int
    wire_ns: int = 0


@dataclass(frozen=True)
class Upstream:
    """One request as the double saw it (monotonic ms)."""

    received_ms: float
    first_chunk_ms: float


def new_run_id() -> int:
    """A tag for one measurement, so that journal entries of another run never pair with it."""
    return random.randrange(100_000, 1_000_000)


@contextlib.asynccontextmanager
async def double_running(cpu: int | None) -> AsyncIterator[tuple[str, list[str]]]:
    """The Gemini double as its own process on `cpu`; yields its base URL and command line."""
    port = free_port()
    argv = [sys.executable, "-m", "roomwire", "gemini-double", "--host", HOST, "--port", str(port),
            "--latency", LATENCY, "--quota", "off"]  # fmt: skip
    child = spawn(argv, cpu)
    url = f"http://{HOST}:{port}/"
    try:
        await _wait_healthy(child, url)
        yield url, argv
    finally:
        await stop(child)


async def _wait_healthy(child: subprocess.Popen[bytes], url: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while True:
        if child.poll() is not None:
            raise RuntimeError(f"the Gemini double exited with {child.returncode}")
        try:
            await asyncio.to_thread(urllib.request.urlopen, f"{url}_double/health", timeout=2)
            if listens(child.pid, urllib.parse.urlsplit(url).port or 0):  # not another program's double
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} answers, but not from the Gemini double started here")
        await asyncio.sleep(0.1)


async def journal(url: str, run: int) -> dict[tuple[int, int], Upstream]:
    """The double's entries of `run` that sent a first chunk, by (asker, n)."""
    query = urllib.parse.urlencode({"match": f"#{run}-"})

    def fetch() -> bytes:
        with urllib.request.urlopen(f"{url}_double/journal?{query}", timeout=30) as response:
            body: bytes = response.read()
            return body

    entries = json.loads(await asyncio.to_thread(fetch))["entries"]
    found: dict[tuple[int, int], Upstream] = {}
    for entry in entries:
        tag = _TAG.search(entry.get("last_user_text") or "")
        if tag is None or int(tag[1]) != run or not entry["chunk_times_ms"]:
            continue
        found[(int(tag[2]), int(tag[3]))] = Upstream(entry["received_ms"], entry["chunk_times_ms"][0])
    return found


def quantile(ordered: Sequence[float], q: float) -> float:
    """The `q` quantile of sorted values as every figure here takes it: the value at index ⌊q·n⌋ (the largest
    for q = 1); so a p99 of 480 answers is the fifth largest."""
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def percentiles(prefix: str, values: Iterable[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {f"{prefix}_{name}_ms": float("nan") for name, _ in PERCENTILES}
    return {f"{prefix}_{name}_ms": quantile(ordered, q) for name, q in PERCENTILES}


@dataclass(frozen=True, slots=True)
class Answer:
    """One counted answer paired with its journal entry, in ms (the module docstring's terms). `after_wire`:
    double sent chunk 1 → the kernel stamped its arrival at the asker's socket (None without a stamp)."""

    asker: int
    before: float
    after: float
    upstream_ttft: float
    after_wire: float | None = None

    @property
    def added(self) -> float:
        return self.before + self.after

    @property
    def added_wire(self) -> float | None:
        return None if self.after_wire is None else self.before + self.after_wire


def paired(samples: Iterable[Sample], upstream: dict[tuple[int, int], Upstream]) -> tuple[list[Answer], int]:
    """The counted samples (`n` > 0, a first chunk came) that have a journal entry, and how many had none."""
    answers: list[Answer] = []
    unpaired = 0
    for sample in samples:
        if sample.n == 0 or not sample.first_ns:
            continue
        entry = upstream.get((sample.asker, sample.n))
        if entry is None:
            unpaired += 1
            continue
        wire = sample.wire_ns / 1e6 - entry.first_chunk_ms if sample.wire_ns else None
        answers.append(Answer(sample.asker, entry.received_ms - sample.sent_ns / 1e6,
                              sample.first_ns / 1e6 - entry.first_chunk_ms,
                              entry.first_chunk_ms - entry.received_ms, wire))  # fmt: skip
    return answers, unpaired


def added(prefix: str, samples: Iterable[Sample], upstream: dict[tuple[int, int], Upstream]) -> dict[str, float]:
    """Per-request added ms (module docstring) of the counted samples (`n` > 0): `figures` of their pairing."""
    return figures(prefix, *paired(samples, upstream))


def figures(prefix: str, answers: list[Answer], unpaired: int) -> dict[str, float]:
    """The percentiles of paired answers' added ms, with its two halves; where the answers carry the kernel's
    arrival stamp, also `added_wire` (the clock stopped when the first chunk reached the asker's socket: the
    server's part without the load generator's wake-up) and that wake-up (`client_wake`)."""
    total = [a.added for a in answers]
    result = percentiles(f"{prefix}_added", total)
    result[f"{prefix}_added_mean_ms"] = sum(total) / len(total) if total else float("nan")
    result |= percentiles(f"{prefix}_before", (a.before for a in answers))
    result |= percentiles(f"{prefix}_after", (a.after for a in answers))
    result |= percentiles(f"{prefix}_ttft", (a.added + a.upstream_ttft for a in answers))
    result |= percentiles(f"{prefix}_upstream_ttft", (a.upstream_ttft for a in answers))
    stamped = [(a, a.after_wire) for a in answers if a.after_wire is not None]
    if stamped:
        result |= percentiles(f"{prefix}_added_wire", (a.before + wire for a, wire in stamped))
        result |= percentiles(f"{prefix}_after_wire", (wire for _, wire in stamped))
        result |= percentiles(f"{prefix}_client_wake", (a.after - wire for a, wire in stamped))
    result[f"{prefix}_answers"] = float(len(answers) + unpaired)
    result[f"{prefix}_unpaired"] = float(unpaired)
    return result


async def direct_samples(
    url: str, askers: int, questions: int, cpu: int | None, *, run: int, first_asker: int = 0, variant: str = TRANSPORT
) -> tuple[list[Sample], float]:
    """The load of `server_samples` with no server: SDK streams from `cpu` (`direct.py`, its own process), through
    the reference's client on its transport unless another `variant` is asked for (sdk.py); samples and CPU s."""
    argv = child_command("bench.direct", "--url", url, "--askers", str(askers), "--questions", str(questions),
                         "--run", str(run), "--transport", variant, "--first-asker", str(first_asker))  # fmt: skip
    child = await asyncio.create_subprocess_exec(
        *argv,
        env=child_environment(),
        stdout=asyncio.subprocess.PIPE,
        preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None,
    )
    try:
        out, _ = await asyncio.wait_for(child.communicate(), 300)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    if child.returncode != 0:
        raise RuntimeError(f"the direct SDK baseline exited with {child.returncode}")
    data = json.loads(out)
    return [Sample(*row) for row in data["samples"]], float(data["cpu_s"])


async def direct_added(
    url: str, askers: int, questions: int, cpu: int | None, *, variant: str = TRANSPORT
) -> dict[str, float]:
    """`direct_samples` once, paired with the journal: the floor's figures (`sdk_*`)."""
    run = new_run_id()
    samples, cpu_s = await direct_samples(url, askers, questions, cpu, run=run, variant=variant)
    result = added("sdk", samples, await journal(url, run))
    return result | {"sdk_cpu_ms_per_answer": 1000 * cpu_s / (askers * (questions + 1))}


@dataclass
class Through:
    """What `server_samples` saw: the samples, the server's CPU seconds, error notices, askers that failed."""

    samples: list[Sample]
    cpu_s: float
    errors: int = 0
    failed: int = 0


async def server_samples(server: Server, askers: int, questions: int, *, run: int, first_asker: int = 0) -> Through:
    """`askers` connections, each asking `questions` + 1 times in a closed loop, through `server`."""
    samples: list[Sample] = []
    errors = 0

    async def asker(index: int) -> None:
        nonlocal errors
        done: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
        state = {"first": 0, "wire": 0}

        def on_text(payload: bytes) -> None:
            nonlocal errors
            if b'"ai_chunk"' in payload:
                if not state["first"]:
                    state["first"], state["wire"] = time.monotonic_ns(), connection.arrived_ns
            elif b'"ai_done"' in payload:
                done.put_nowait((state["first"], state["wire"]))
            elif json.loads(payload).get("event") == "error":
                errors += 1

        path = f"/api/v1/ws/chat/ai{index % 4}?nickname=a{index}"
        connection = await open_connection(HOST, server.port, path, on_text, stamp_arrivals=True)
        try:
            for n in range(questions + 1):
                frame = json.dumps({"type": "ai_msg", "nickname": f"a{index}", "content": question(run, index, n)})
                payload = frame.encode()
                state["first"] = 0
                sent = time.monotonic_ns()
                connection.send_text(payload)
                first, wire = await asyncio.wait_for(done.get(), ANSWER_TIMEOUT)
                samples.append(Sample(index, n, sent, first, wire))
        finally:
            connection.abort()

    cpu = server.cpu_seconds()
    results = await asyncio.gather(*(asker(first_asker + i) for i in range(askers)), return_exceptions=True)
    cpu = server.cpu_seconds() - cpu
    return Through(samples, cpu, errors, sum(1 for r in results if isinstance(r, BaseException)))


async def side_by_side(
    server: Server, url: str, askers: int, questions: int, cpu: int | None, *, blocks: int = BLOCKS
) -> Measured:
    """The floor and the server in alternating blocks (ABBA...), each block `questions / blocks` per asker, so
    that both sample sets span the same minutes of a shared machine; figures over the pooled samples of each.

    Askers are numbered apart per block and side (block b: the floor's from b * 1000, the server's from
    b * 1000 + 500), so that one run id tags them all and each answer pairs with its own journal entry.
    """
    if askers > 500:
        raise ValueError("at most 500 askers (their numbers tag the questions)")
    run = new_run_id()
    per_block = max(1, questions // blocks)
    floor: list[Sample] = []
    via = Through([], 0.0)
    floor_cpu = 0.0
    for block in range(blocks):
        first = block * 1000
        for side in ("floor", "server") if block % 4 in (0, 3) else ("server", "floor"):
            if side == "floor":
                samples, cpu_s = await direct_samples(url, askers, per_block, cpu, run=run, first_asker=first)
                floor += samples
                floor_cpu += cpu_s
            else:
                part = await server_samples(server, askers, per_block, run=run, first_asker=first + 500)
                via = Through(via.samples + part.samples, via.cpu_s + part.cpu_s, via.errors + part.errors,
                              via.failed + part.failed)  # fmt: skip
    upstream = await journal(url, run)
    answers = blocks * askers * (per_block + 1)
    server_answers, server_unpaired = paired(via.samples, upstream)
    floor_answers, floor_unpaired = paired(floor, upstream)
    result = (
        figures("server", server_answers, server_unpaired)
        | figures("sdk", floor_answers, floor_unpaired)
        | {
            "server_cpu_ms_per_answer": 1000 * via.cpu_s / answers,
            "sdk_cpu_ms_per_answer": 1000 * floor_cpu / answers,
            "server_error_notices": float(via.errors),
            "askers_failed": float(via.failed),
        }
    )
    return Measured(result, per_block_answers(server_answers, floor_answers))


def per_block_answers(server: list[Answer], floor: list[Answer]) -> dict[str, list[tuple[int, float]]]:
    """The per-answer values `ai_share.py` pools over rounds, each with its block (askers are numbered from
    block × 1000, `side_by_side`), in µs-rounded ms."""
    return {
        "server_added": [(a.asker // 1000, round(a.added, 3)) for a in server],
        "server_added_wire": [(a.asker // 1000, round(w, 3)) for a in server if (w := a.added_wire) is not None],
        "sdk_added": [(a.asker // 1000, round(a.added, 3)) for a in floor],
    }
