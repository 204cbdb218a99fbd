"""The bundled target: with no URL, the suite starts the Gemini double and a chat server, wired together.

The double runs in the suite's own event loop; the chat server runs as a subprocess (its own interpreter, so
it gets the second core and a crash of it is not a crash of the suite), started by the same command a person
would use. The reference gets settings that make the suite fast, and the report says so (`BUNDLED_SETTINGS`):
keepalive 8 s + 8 s (a half-open client is announced within 16 s, yet a member that stops reading can fill its
send queue before the keepalive drops it), AI timeout 2 s, twenty members per room (LIMIT-006 is checked by filling
one). The AI budget stays at SPEC.md's default (10 a minute): the suite paces its questions within it, as it must
against any target (`options` may raise it for the suite's own tests; the welcome advertises it either way).
Its key is a canary (a fake key of the right shape, new each run) that the double accepts and journals, so the
key-leak checks are proven, not assumed.

`bundled_target(variant=...)` starts instead a deliberately broken variant (roomwire.targets.broken) or the
seed's copy (`seed`), or the seed's design with its defects fixed (`seed-fixed`, or `seed-fixed:DEFECT` with one
put back: roomwire.targets.seed_fixed), for the suite's own tests and for demonstrations. Everything started is
stopped at the end, also when the run fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roomwire.conformance.target_log import CapturedLog, FileLog, TargetLog
from roomwire.spec.errors import HarnessError

#: The reference's settings in the bundled run (environment of `roomwire serve`), all within SPEC.md §10.
BUNDLED_SETTINGS = {
    "ROOMWIRE_PING_INTERVAL_S": "8",
    "ROOMWIRE_PING_TIMEOUT_S": "8",
    "ROOMWIRE_AI_TIMEOUT_S": "5",  # 2 s timed out ordinary answers on a machine at load 12 (two cores)
    "ROOMWIRE_ROOM_CAPACITY": "20",
    "ROOMWIRE_SHUTDOWN_GRACE_S": "1",
    "ROOMWIRE_CLOSE_TIMEOUT_S": "2",
    "ROOMWIRE_LOG_LEVEL": "WARNING",
}
#: For the suite's own tests of whole runs: an AI budget the suite spends in seconds. The target advertises it in
#: its welcome, so the suite paces by it as by any other (a target without a welcome gets SPEC.md's 10).
TEST_AI_BUDGET = {"ROOMWIRE_AI_BUDGET_RPM": "120"}
#: The double's settings: streaming observable (25 ms between chunks), no quota of its own (the target's
#: budget is under test, not the double's free tier).
DOUBLE_SETTINGS = {"latency": "fast", "chunk_interval_ms": 25.0, "quota_rpm": None}
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
_URL = re.compile(r"(wss?://\S+)|listening on (\S+):(\d+)")
_DROPPED_ENV = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_GENAI_USE_VERTEXAI")
#: The loggers of a target served in the suite's process (the suite's own and the double's are not its log).
TARGET_LOGGERS = ("roomwire.reference", "roomwire.targets", "hypercorn", "quart", "google_genai", "google.genai")


def new_canary() -> str:
    """A fake key of Google's shape (AIza + 35), unique per run: canary, FAKE, never a real key."""
    return "AIza" + f"CANARY-roomwire-{secrets.token_hex(10)}"[:35]


@dataclass
class ServerProcess:
    """A chat server subprocess that prints its WebSocket URL when it is ready, and stops on SIGTERM."""

    command: list[str]
    env: dict[str, str]
    cwd: str
    url: str = ""
    process: asyncio.subprocess.Process | None = None
    log: Path = field(default_factory=lambda: Path(tempfile.mkstemp(prefix="roomwire-target-", suffix=".log")[1]))

    async def start(self) -> str:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.command, env=self.env, cwd=self.cwd, stdout=asyncio.subprocess.PIPE, stderr=log
            )
        try:
            self.url = await asyncio.wait_for(self._ready(), READY_TIMEOUT_S)
        except (TimeoutError, HarnessError) as exc:
            await self.stop()
            raise HarnessError(f"the bundled target did not start ({exc}); its log:\n{self.tail()}") from None
        return self.url

    async def _ready(self) -> str:
        assert self.process is not None and self.process.stdout is not None
        while True:
            line = (await self.process.stdout.readline()).decode("utf-8", "replace")
            if not line:
                raise HarnessError(f"exited with {await self.process.wait()}")
            match = _URL.search(line)
            if match and match.group(1):
                return match.group(1)
            if match:
                return f"ws://{match.group(2)}:{match.group(3)}/api/v1/ws/chat/{{room_id}}"

    async def stop(self) -> None:
        """SIGTERM (a graceful stop), then SIGKILL if it does not end in time."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    @property
    def target_log(self) -> TargetLog:
        """What the target logs (its stderr), for SEC-003's and UP-008's log side."""
        return FileLog(self.log, name="the bundled target's stderr")


def is_seed_fixed(variant: str | None) -> bool:
    """The fixed seed (roomwire.targets.seed_fixed), with or without a defect put back."""
    return variant is not None and variant.partition(":")[0] == "seed-fixed"


def target_command(variant: str | None, double_url: str, port: int) -> list[str]:
    """How to start `variant` (None: the reference) on `port`, wired to the double."""
    if variant == "seed":
        return [sys.executable, "-m", "roomwire.targets.seed_fastapi", "--port", str(port), "--log-level", "warning"]
    if is_seed_fixed(variant):  # `seed-fixed`, or `seed-fixed:DEFECT` (one defect put back)
        _, _, defect = (variant or "").partition(":")
        command = [sys.executable, "-m", "roomwire.targets.seed_fixed", "--port", str(port), "--log-level", "warning"]
        command += ["--ai-silence-s", BUNDLED_SETTINGS["ROOMWIRE_AI_TIMEOUT_S"]]  # a stalled answer ends as fast
        return command + (["--defect", defect] if defect else [])
    name = variant or "reference"
    return [sys.executable, "-m", "roomwire.targets.broken", name, "--port", str(port), "--gemini-base-url", double_url]


def target_env(double_url: str, canary: str, variant: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV and not k.startswith("ROOMWIRE_")}
    env.update(BUNDLED_SETTINGS, GEMINI_API_KEY=canary, PYTHONUNBUFFERED="1")
    if variant == "seed" or is_seed_fixed(variant):
        env["GOOGLE_GEMINI_BASE_URL"] = double_url  # the seed's SDK client reads it (no code change)
    return env


@dataclass
class InProcessServer:
    """The reference or a broken variant served in the suite's own event loop (the suite's tests use it: no
    interpreter to start, at the price of sharing one core with the suite)."""

    variant: str | None
    env: dict[str, str]
    double_url: str
    port: int = 0
    url: str = ""
    captured: CapturedLog | None = None
    _stack: contextlib.AsyncExitStack | None = None

    async def start(self) -> str:
        from roomwire.reference.server import running_server
        from roomwire.reference.settings import Settings
        from roomwire.targets.broken import VARIANTS
        from roomwire.targets.broken.launch import app_options, apply_patches

        variant = VARIANTS.get(self.variant or "")
        changes = {"port": self.port, "gemini": "real", "gemini_base_url": self.double_url}
        settings = Settings.from_env(self.env, dotenv=None).replace(
            **changes, **(dict(variant.settings) if variant else {})
        )
        stack = contextlib.AsyncExitStack()
        stack.callback(self._capture(settings.log_level).detach)
        if variant is not None:
            stack.callback(apply_patches(variant))
        try:
            server = await stack.enter_async_context(
                running_server(settings, **(app_options(variant) if variant else {}))
            )
        except BaseException:
            await stack.aclose()
            raise
        self._stack, self.url = stack, server.url
        self.port = int(server.url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
        return self.url

    async def stop(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    def _capture(self, level: str) -> CapturedLog:
        """Keep the target's log records as its lines (as `roomwire serve` writes them), across restarts."""
        from roomwire.reference.logs import OneLineFormatter

        if self.captured is None:
            self.captured = CapturedLog("the bundled target's log", TARGET_LOGGERS, OneLineFormatter(), level.upper())
        self.captured.attach()
        return self.captured

    @property
    def target_log(self) -> TargetLog:
        assert self.captured is not None, "started"
        return self.captured


@dataclass
class Bundle:
    """What a bundled run gives the suite."""

    url: str
    double_url: str
    canary: str
    restart: Callable[[], Awaitable[None]]
    server: ServerProcess | InProcessServer

    @property
    def log(self) -> TargetLog:
        """The target's log, kept by the suite (SEC-003's and UP-008's log side need no --target-log here)."""
        return self.server.target_log


def _server(variant: str | None, env: dict[str, str], double_url: str, cwd: str, in_process: bool) -> Any:
    if in_process and variant != "seed" and not is_seed_fixed(variant):
        return InProcessServer(variant, env, double_url)
    return ServerProcess(target_command(variant, double_url, 0), env, cwd)


@contextlib.asynccontextmanager
async def bundled_target(
    variant: str | None = None, options: dict[str, str] | None = None, *, in_process: bool = False
) -> AsyncIterator[Bundle]:
    """Start the double and the target (see the module docstring); stop both when the block ends."""
    from roomwire.gemini_double import DoubleConfig, serve_double

    canary = new_canary()
    with tempfile.TemporaryDirectory(prefix="roomwire-check-") as cwd:  # no developer .env is picked up
        async with serve_double(DoubleConfig(**DOUBLE_SETTINGS)) as double:  # type: ignore[arg-type]
            env = target_env(double.base_url, canary, variant)
            env.update(options or {})
            server = _server(variant, env, double.base_url, cwd, in_process)
            restarting: list[asyncio.Task[str]] = []
            try:
                url = await server.start()

                async def restart() -> None:
                    """RECON-002: a graceful stop (SIGTERM), then the same server again on the same port."""
                    port = int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
                    await server.stop()
                    if isinstance(server, ServerProcess):
                        server.command = target_command(variant, double.base_url, port)
                    else:
                        server.port = port
                    restarting.append(asyncio.create_task(server.start()))
                    await restarting[-1]

                yield Bundle(url=url, double_url=double.base_url, canary=canary, restart=restart, server=server)
            finally:
                for task in restarting:
                    task.cancel()
                await asyncio.gather(*restarting, return_exceptions=True)
                await server.stop()
                if isinstance(server, ServerProcess):
                    with contextlib.suppress(OSError):
                        server.log.unlink()
