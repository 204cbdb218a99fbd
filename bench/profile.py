"""Where a server's time goes under fan-out load: py-spy samples it while the capacity scenario drives it.

    python -m bench.profile --target reference --room-size 10 --seconds 10 --out prof/
    python -m bench.profile --target reference --scenario storm --seconds 10 --out prof/

starts the target pinned to the server core, drives the closed-loop fan-out (`fanout.capacity`) for `--seconds`,
and meanwhile runs `py-spy record --nonblocking` on the server (from the load generator's core). It writes
`<target>-room<N>.svg` (a flame graph) and `<target>-room<N>.txt` (collapsed stacks), then prints a breakdown:
the share of samples whose innermost frame is in each package (self time) and the share whose stack passes
through each package or function (inclusive). py-spy comes from PyPI (`pip install py-spy`); it needs ptrace,
which root has. `--scenario storm` drives reconnect storms (`storm.storm`, the target with its default limits)
one after another for `--seconds` instead, and writes `<target>-storm.*`. `--scenario ai` drives the AI scenario's
load (`ai.server_samples`: 20 askers in closed loops, against a Gemini double on the load generator's core at the
seed's latency) for `--seconds`, and writes `<target>-ai.*`; the server's CPU then includes the SDK's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from . import ai, fanout, servers, storm

#: (label, a folder name in the frame's file path), tried in order; the first match names a frame's package.
PACKAGES = (
    ("roomwire.reference", "reference"),
    ("roomwire.targets", "targets"),
    ("roomwire.spec", "spec"),
    ("quart", "quart"),
    ("hypercorn", "hypercorn"),
    ("wsproto", "wsproto"),
    ("h11", "h11"),
    ("uvicorn", "uvicorn"),
    ("starlette", "starlette"),
    ("fastapi", "fastapi"),
    ("websockets", "websockets"),
    ("json", "json"),
    ("asyncio", "asyncio"),
    ("anyio", "anyio"),
    ("logging", "logging"),
    ("google-genai", "genai"),
    ("pydantic", "pydantic"),
    ("pydantic", "pydantic_core"),
    ("httpx", "httpx2"),
    ("httpx", "httpx"),
    ("httpcore", "httpcore2"),
    ("httpcore", "httpcore"),
    ("prometheus_client", "prometheus_client"),
)


def package_of(frame: str) -> str:
    """The package of a py-spy frame, `function (path/to/file.py:line)`, by the folders in its path."""
    place = frame.rpartition(" (")[2].rstrip(")")
    path = place.rpartition(":")[0] if place.rpartition(":")[2].isdigit() else place
    folders = set(path.split("/")[:-1])
    for label, folder in PACKAGES:
        if folder in folders:
            return label
    if path.endswith("selectors.py"):
        return "asyncio"  # the event loop's epoll wait and its bookkeeping
    return "other"


def function_of(frame: str) -> str:
    """`function (file.py:line)` without the line, so a function's samples add up."""
    name, _, place = frame.rpartition(" (")
    return f"{name} ({place.rstrip(')').rpartition(':')[0]})" if name else frame


def breakdown(collapsed: str, top: int = 25) -> str:
    """Self and inclusive shares from py-spy's collapsed stacks (`frame;frame;... count` per line)."""
    self_pkg: Counter[str] = Counter()
    incl_pkg: Counter[str] = Counter()
    self_fn: Counter[str] = Counter()
    incl_fn: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count, frames = int(count_text), [function_of(f) for f in stack.split(";")]
        total += count
        self_pkg[package_of(frames[-1])] += count
        self_fn[frames[-1]] += count
        for pkg in {package_of(f) for f in frames}:
            incl_pkg[pkg] += count
        for frame in set(frames):
            incl_fn[frame] += count
    if not total:
        return "no samples"
    out = [f"{total} samples", "", "package            self   inclusive"]
    for pkg, _ in incl_pkg.most_common():
        out.append(f"{pkg:<18} {self_pkg[pkg] / total:6.1%}  {incl_pkg[pkg] / total:6.1%}")
    out += ["", f"top {top} functions by self time"]
    out += [f"{n / total:6.1%}  {fn}" for fn, n in self_fn.most_common(top)]
    out += ["", f"top {top} functions by inclusive time"]
    out += [f"{n / total:6.1%}  {fn}" for fn, n in incl_fn.most_common(top)]
    return "\n".join(out)


async def profile(
    target: str, room_size: int, seconds: float, out: Path, server_cpu: int, loadgen_cpu: int, scenario: str
) -> tuple[str, Path]:
    """Drive and sample `target`; returns the load's figures and the collapsed stacks' path."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    os.sched_setaffinity(0, {loadgen_cpu})
    timing = fanout.Timing(warmup=1.0, measure=seconds, stall_fill=0.0)
    stem = out / (f"{target}-{scenario}" if scenario in ("storm", "ai") else f"{target}-room{room_size}")
    async with contextlib.AsyncExitStack() as stack:
        gemini_url = None
        if scenario == "ai":
            gemini_url, _ = await stack.enter_async_context(ai.double_running(loadgen_cpu))
        server = await stack.enter_async_context(
            servers.running(target, cpu=server_cpu, limits=scenario == "storm", gemini_url=gemini_url)
        )
        records = []
        for fmt, suffix in (("flamegraph", ".svg"), ("raw", ".txt")):
            records.append(
                await asyncio.create_subprocess_exec(
                    py_spy,
                    "record",
                    "--nonblocking",
                    "--rate",
                    "250",
                    "--duration",
                    str(int(seconds)),
                    "--format",
                    fmt,
                    "-o",
                    str(stem) + suffix,
                    "--pid",
                    str(server.process.pid),
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )  # fmt: skip
            )
        if scenario == "storm":
            result = await _storms(server, seconds)
        elif scenario == "ai":
            result = await _answers(server, seconds)
        else:
            result = await fanout.capacity(server, timing, room_size=room_size)
        await asyncio.gather(*(r.wait() for r in records))
    where = f"room of {room_size}" if scenario == "capacity" else "20 askers" if scenario == "ai" else "storms"
    header = f"{target}, {scenario}, {where}: " + ", ".join(f"{k}={v:.4g}" for k, v in result.items())
    return header, Path(str(stem) + ".txt")


async def _storms(server: servers.Server, seconds: float) -> dict[str, float]:
    """Reconnect storms one after another for `seconds`; the last one's figures and how many ran."""
    deadline, count = asyncio.get_running_loop().time() + seconds, 0
    result: dict[str, float] = {}
    while asyncio.get_running_loop().time() < deadline:
        result = await storm.storm(server)
        count += 1
    return {**result, "storms": float(count)}


async def _answers(server: servers.Server, seconds: float, askers: int = 20) -> dict[str, float]:
    """The AI scenario's askers, in runs of 5 questions each (~3 s), for `seconds`; answers and CPU per answer."""
    deadline, answers, cpu_s = asyncio.get_running_loop().time() + seconds, 0, 0.0
    while asyncio.get_running_loop().time() < deadline:
        through = await ai.server_samples(server, askers, 5, run=ai.new_run_id())
        answers, cpu_s = answers + len(through.samples), cpu_s + through.cpu_s
    return {"answers": float(answers), "cpu_ms_per_answer": 1000 * cpu_s / answers if answers else float("nan")}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--target", default="reference", choices=[t for t in servers.TARGETS if t != "node"])
    parser.add_argument("--scenario", default="capacity", choices=["capacity", "storm", "ai"])
    parser.add_argument("--room-size", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path("bench-profile"))
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--loadgen-cpu", type=int, default=1)
    parser.add_argument("--breakdown", type=Path, metavar="TXT", help="only print the breakdown of saved stacks")
    args = parser.parse_args(argv)
    if args.breakdown:
        print(breakdown(args.breakdown.read_text(encoding="utf-8")))  # noqa: T201 - the command's output
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    header, collapsed = asyncio.run(
        profile(args.target, args.room_size, args.seconds, args.out, args.server_cpu, args.loadgen_cpu, args.scenario)
    )
    report = header + "\n" + breakdown(collapsed.read_text(encoding="utf-8"))
    (args.out / f"{collapsed.stem}-breakdown.txt").write_text(report + "\n", encoding="utf-8")
    print(report)  # noqa: T201 - the command's output
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
