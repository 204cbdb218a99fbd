"""A two-instance deployment for the conformance suite: Redis, the Gemini double, two reference instances.

    python -m tests.scaleout.deployment [--instances 2] -- roomwire check {urls} --double {double} ...

`deployment()` starts a `redis-server`, the Gemini double (in this event loop, with the bundled run's
settings), and the reference instances as processes (`roomwire serve --broker redis://…`, with the reference's
settings of the bundled run and a canary key), all on one Redis; it yields their URLs and stops everything
afterwards, also when the run fails. `check_command` is the exact `roomwire check` command line for it (what
`tox -e scaleout` runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from roomwire.conformance.bundled import BUNDLED_SETTINGS, DOUBLE_SETTINGS, TEST_AI_BUDGET, new_canary
from roomwire.gemini_double import DoubleConfig, serve_double
from tests.scaleout.instances import READY, serve_command
from tests.scaleout.redis_server import redis_server

ROOT = Path(__file__).resolve().parents[2]
READY_S = 60.0
#: Leases short enough for the suite's presence checks (a killed instance is not one of them, but a lease is
#: renewed every lease / 3 seconds and nothing else waits on it).
BROKER_OPTIONS = "lease=6&timeout=1&backoff=2"


@dataclass(frozen=True)
class Deployment:
    urls: tuple[str, ...]
    double_url: str
    canary: str
    redis_url: str


def check_command(deployment: Deployment, *extra: str) -> list[str]:
    """`roomwire check URL1 URL2 --double D --canary-key K`: clients spread over the instances."""
    return [
        sys.executable, "-m", "roomwire", "check", *deployment.urls,
        "--double", deployment.double_url, "--canary-key", deployment.canary, *extra,
    ]  # fmt: skip


async def _start(broker_url: str, env: dict[str, str]) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        *serve_command(broker_url), cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    seen: list[str] = []
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), READY_S)).decode(errors="replace")
        if not line:
            raise RuntimeError("an instance exited before listening:\n" + "".join(seen))
        if line.startswith(READY):
            return process, line.removeprefix(READY).strip()
        seen.append(line)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 20)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


@contextlib.asynccontextmanager
async def deployment(instances: int = 2) -> AsyncIterator[Deployment]:
    canary = new_canary()
    with redis_server() as redis:
        async with serve_double(DoubleConfig(**DOUBLE_SETTINGS)) as double:  # type: ignore[arg-type]
            env = {k: v for k, v in os.environ.items() if not k.startswith(("ROOMWIRE_", "GOOGLE_"))}
            env.update(BUNDLED_SETTINGS, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", GEMINI_API_KEY=canary)
            env.update(TEST_AI_BUDGET)  # advertised: the suite paces by it (SPEC's 10 would take minutes)
            env.update(ROOMWIRE_GEMINI="real", ROOMWIRE_GEMINI_BASE_URL=double.base_url)
            broker_url = f"{redis.url}?{BROKER_OPTIONS}"
            started: list[asyncio.subprocess.Process] = []
            try:
                urls = []
                for _ in range(instances):
                    process, url = await _start(broker_url, env)
                    started.append(process)
                    urls.append(url)
                yield Deployment(tuple(urls), double.base_url, canary, redis.url)
            finally:
                await asyncio.gather(*(_stop(process) for process in started))


async def _main(argv: list[str]) -> int:
    async with deployment() as running:
        command = check_command(running, *argv)
        print("$", " ".join(command), flush=True)  # noqa: T201 - the exact command, for the record
        process = await asyncio.create_subprocess_exec(*command, cwd=ROOT)
        return await process.wait()


if __name__ == "__main__":
    sys.exit(asyncio.run(_main(sys.argv[1:])))
