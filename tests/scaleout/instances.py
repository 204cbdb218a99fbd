"""Reference instances on one Redis: in this process (real Hypercorn servers), or as a process to SIGKILL.

`instances(redis_url, n)` serves `n` reference servers in the test's event loop, each with its own
`RedisBroker` (its own Redis connections, lease and subscriber): n instances behind a load balancer, as far as
Redis and the clients can tell. `killable_instance(redis_url)` runs one in a child process
(`roomwire serve --broker URL`), which the test can SIGKILL: no goodbye to Redis, no leave notices, sockets just
end. Both are stopped when the block ends, also when the test fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from roomwire.reference.rooms.redis.broker import RedisBroker
from roomwire.reference.server import RunningServer
from tests.reference.helpers import serving
from tests.scaleout.members import FAST, options
from tests.support.processes import stop
from tests.support.timing import UNIT

ROOT = Path(__file__).resolve().parents[2]
READY = "roomwire serve: "  # what the CLI prints once it listens, before the URL


def serve_command(broker_url: str) -> list[str]:
    """`roomwire serve` on a free port with the Redis broker: exactly what an operator runs."""
    return [sys.executable, "-m", "roomwire", "serve", "--port", "0", "--broker", broker_url]


@contextlib.asynccontextmanager
async def instances(
    redis_url: str, n: int = 2, *, extra: str = FAST, **changes: Any
) -> AsyncIterator[list[RunningServer]]:
    async with contextlib.AsyncExitStack() as stack:
        servers = []
        for _ in range(n):
            broker = RedisBroker(options(redis_url, extra), history=changes.get("resume_history", 100))
            servers.append(await stack.enter_async_context(serving(broker=broker, **changes)))
        yield servers


class Child:
    """A reference instance in its own process; `url` is its WebSocket URL template."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url

    def ws(self, room: str, query: str = "") -> str:
        return self.url.replace("{room_id}", room) + (f"?{query}" if query else "")

    def kill(self) -> None:
        stop(self.process, signal.SIGKILL)


@contextlib.asynccontextmanager
async def killable_instance(redis_url: str, *, extra: str = FAST) -> AsyncIterator[Child]:
    argv = serve_command(f"{redis_url}?{extra}")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GEMINI_API_KEY": "", "ROOMWIRE_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(  # noqa: ASYNC220 - starting it is quick; its output is read in a thread
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    child = Child(process, "")
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), UNIT * 6)
        if not line.startswith(READY):
            raise RuntimeError(f"the instance did not start: {line}{process.stdout.read()}")
        child.url = line.removeprefix(READY).strip()
        yield child
    finally:
        child.kill()
        if process.stdout is not None:
            process.stdout.close()
