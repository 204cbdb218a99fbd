"""The servers a benchmark compares, each started as its own process pinned to the server core, and always stopped.

Targets:

- `seed`: the seed's FastAPI design on uvicorn (`roomwire.targets.seed_fastapi`), uvicorn's defaults.
- `reference`: `roomwire serve --no-limits` (Quart + Hypercorn); `--gemini fake` unless a double URL is given.
- `ceiling`: the `websockets` library's own server with `broadcast()` (`bench/ceiling.py`): what a lean server
  reaches on this core, and so proof that the load generator can deliver more than the two servers take; given a
  double URL, it answers `ai_msg` through google-genai as leanly as a server can.
- `node`: a Node server on the `ws` library (`bench/node_ws.py`, `bench/node/server.js`): what another ecosystem
  would use, side by side in every run.

Each run gets a fresh process on a free port (nothing one run did, like the seed's dead sockets, leaks into the
next), logging at WARNING (a benchmark measures the design, not a log pipe), output to a file that is shown when
the server fails to start. A process is started in its own session and stopped by its own process group id:
SIGTERM, then SIGKILL after a grace period, also when the benchmark fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import IO

import psutil

from . import child, node_ws
from .wsclient import open_connection

HOST = "127.0.0.1"
TARGETS = ("seed", "reference", "ceiling", "node")
#: Variables that would point a server's SDK somewhere else or change its mode.
SDK_ENV = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_GENAI_USE_VERTEXAI",
           "GOOGLE_GENAI_USE_ENTERPRISE", "GOOGLE_GENAI_API_VERSION")  # fmt: skip


class ServerFailed(RuntimeError):
    """A target did not start, or died; the message carries the tail of its output."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def command(target: str, port: int, gemini_url: str | None, *, limits: bool = False) -> list[str]:
    """The exact command line of a target (also printed in the report); `limits`: the reference keeps the spec's
    default limits (the storm scenario: nothing those limits allow may be refused)."""
    python = sys.executable
    if target == "seed":
        return [python, "-m", "roomwire.targets.seed_fastapi", "--host", HOST, "--port", str(port),
                "--log-level", "warning"]  # fmt: skip
    if target == "reference":
        upstream = ["--gemini-base-url", gemini_url] if gemini_url else ["--gemini", "fake"]
        lifted = [] if limits else ["--no-limits"]
        return [python, "-m", "roomwire", "serve", "--host", HOST, "--port", str(port), *lifted,
                "--log-level", "WARNING", *upstream]  # fmt: skip
    if target == "ceiling":
        upstream = ["--gemini-base-url", gemini_url] if gemini_url else []
        return child.command("bench.ceiling", "--host", HOST, "--port", str(port), *upstream)
    if target == "node":
        return node_ws.command(HOST, port)
    raise ValueError(f"unknown target {target!r}; known: {', '.join(TARGETS)}")


def environment(target: str, gemini_url: str | None, extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SDK_ENV}
    if target == "ceiling":
        env = child.environment(env)  # `bench.ceiling` is found at the repository's root (child.py)
    env["PYTHONUNBUFFERED"] = "1"
    if gemini_url and target == "seed":
        env["GOOGLE_GEMINI_BASE_URL"] = gemini_url  # the SDK's own variable: the seed's code is unchanged
    if target == "reference":
        # The AI scenario measures the relay, not LIMIT-005's budget (10 requests/min by default), which
        # `--no-limits` keeps; the seed has no budget at all.
        env["ROOMWIRE_AI_BUDGET_RPM"] = "1000000"
    env.update(extra)
    return env


@dataclass
class Server:
    """A running target: where it listens and the process to measure."""

    target: str
    port: int
    argv: list[str]
    process: psutil.Process

    def cpu_seconds(self) -> float:
        """The server's CPU and its descendants' (the reference's AI worker and its fork server) while alive."""
        total = 0.0
        for process in (self.process, *self.process.children(recursive=True)):
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def rss_bytes(self) -> int:
        return int(self.process.memory_info().rss)


def spawn(
    argv: list[str], cpu: int | None, *, env: Mapping[str, str] | None = None, output: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """Start `argv` in its own session (so `stop` can end its whole group), pinned to `cpu` before it runs."""

    def pin() -> None:  # pragma: no cover - runs in the child between fork and exec
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    return subprocess.Popen(
        argv,
        env=env,
        stdout=output if output is not None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=pin,  # the benchmark process starts no threads of its own, so fork + preexec is safe
    )


@contextlib.asynccontextmanager
async def running(
    target: str,
    *,
    cpu: int | None,
    gemini_url: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    ready_within: float = 30.0,
    limits: bool = False,
) -> AsyncIterator[Server]:
    """Start `target` pinned to `cpu`, wait until it completes a WebSocket upgrade, stop it on exit.

    The port is picked free but only bound by the child, so another program may take it in between (a test suite
    running in parallel starts servers and clients on ephemeral ports all the time): the child then fails to bind
    and is started again on another port, at most `PORT_ATTEMPTS` times.
    """
    env = environment(target, gemini_url, extra_env or {})
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port = free_port()
        argv = command(target, port, gemini_url, limits=limits)
        log = tempfile.NamedTemporaryFile(prefix=f"bench-{target}-", suffix=".log", delete=False)
        child = spawn(argv, cpu, env=env, output=log)
        try:
            try:
                await _wait_ready(child, port, ready_within, log.name)
            except PortTaken:
                if attempt == PORT_ATTEMPTS:
                    raise
                continue
            yield Server(target=target, port=port, argv=argv, process=psutil.Process(child.pid))
            return
        finally:
            await stop(child)
            log.close()
            with contextlib.suppress(OSError):
                os.unlink(log.name)


#: How often `running` starts a target again when someone else took the port it was given.
PORT_ATTEMPTS = 3
_PORT_IN_USE = re.compile(r"address already in use|EADDRINUSE", re.IGNORECASE)


class PortTaken(ServerFailed):
    """The child could not bind the port it was given: another program took it after `free_port` picked it."""


async def _wait_ready(child: subprocess.Popen[bytes], port: int, within: float, log_path: str) -> None:
    """Until the child answers a WebSocket upgrade on `port`, and is the one listening there: an upgrade answered
    by another program's server on a port taken meanwhile does not count (its answers would be measured)."""
    deadline = time.monotonic() + within
    while True:
        if child.poll() is not None:
            tail = _tail(log_path)
            failure = PortTaken if _PORT_IN_USE.search(tail) else ServerFailed
            raise failure(f"exited with {child.returncode}:\n{tail}")
        try:
            connection = await open_connection(HOST, port, "/api/v1/ws/chat/bench-ready?nickname=ready", within=2.0)
        except (OSError, TimeoutError):
            pass
        else:
            connection.abort()
            if listens(child.pid, port):
                return
        if time.monotonic() > deadline:
            raise ServerFailed(f"no WebSocket upgrade within {within} s:\n{_tail(log_path)}") from None
        await asyncio.sleep(0.1)


def listens(pid: int, port: int) -> bool:
    """Whether the process `pid`, or one it started, has a TCP socket listening on `port`."""
    with contextlib.suppress(psutil.Error):
        process = psutil.Process(pid)
        for each in (process, *process.children(recursive=True)):
            for socket_ in each.net_connections(kind="tcp"):
                if socket_.status == psutil.CONN_LISTEN and socket_.laddr and socket_.laddr.port == port:
                    return True
    return False


def _tail(path: str, lines: int = 30) -> str:
    with open(path, errors="replace") as handle:
        return "".join(handle.readlines()[-lines:])


async def stop(child: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM to the child's own process group, SIGKILL after `grace` seconds. Waits without blocking the loop:
    a server closing its connections (1012) waits for this process's clients to answer, and a blocking wait here
    made every server run out its close timeout and then be killed (5 s per launch, half of a quick run)."""
    if child.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if child.poll() is not None:
            return
        await asyncio.sleep(0.02)
    if child.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
