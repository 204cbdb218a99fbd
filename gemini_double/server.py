"""Running the double: under Hypercorn in the current event loop (`serve_double`) or in a thread (`DoubleThread`).

The listening socket is bound before Hypercorn starts (port 0 picks a free port), so `base_url` is right and
connectable the moment the context is entered: connections wait in the backlog until Hypercorn accepts them.
Leaving the context first interrupts every live request (a `stall` ends, a slow stream stops: the client sees
the connection drop), then stops Hypercorn; it never waits for a client to go away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType

from hypercorn.asyncio import serve

from . import status_lines
from .app import DoubleApp
from .config import DoubleConfig
from .state import DoubleState
from .status_lines import DoubleHypercornConfig

LOGGER = logging.getLogger("roomwire.gemini_double")
#: Upper bound on how long stopping may take; Hypercorn waits this long for connections to close.
GRACEFUL_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class RunningDouble:
    """A double that is serving. `state` may only be touched from the double's own loop (use the control API
    from other threads)."""

    host: str
    port: int
    state: DoubleState

    @property
    def base_url(self) -> str:
        """Give this to `genai.Client(http_options=HttpOptions(base_url=...))` or `GOOGLE_GEMINI_BASE_URL`."""
        return f"http://{self.host}:{self.port}/"

    @property
    def config(self) -> DoubleConfig:
        return self.state.config


#: Longer than any client's pool expiry we know of (httpx 5 s, aiohttp 15 s), as Google's front ends are.
KEEP_ALIVE_TIMEOUT_S = 75.0


def hypercorn_config(fd: int) -> DoubleHypercornConfig:
    """Hypercorn settings for the double: the given socket, no access log, a short graceful stop, and reason
    phrases in status lines (`status_lines`)."""
    status_lines.install()
    config = DoubleHypercornConfig()
    config.bind = [f"fd://{fd}"]
    config.accesslog = None
    config.errorlog = LOGGER
    config.graceful_timeout = GRACEFUL_TIMEOUT_S
    # Idle keep-alive connections stay open longer than clients keep them pooled (httpx, which the SDK uses,
    # expires them after 5 s, Hypercorn's default timeout): with equal timers, a client could write a request
    # on a connection the double was closing ("Server disconnected without sending a response").
    config.keep_alive_timeout = KEEP_ALIVE_TIMEOUT_S
    config.include_server_header = False
    config.backlog = 1024
    return config


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket; port 0 picks a free one."""
    return socket.create_server((host, port), backlog=1024, reuse_port=False)


@contextlib.asynccontextmanager
async def serve_double(
    config: DoubleConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[RunningDouble]:
    """Serve a double in the running event loop for the duration of the `async with` block.

    Args:
        config: settings (default `DoubleConfig()`).
        host: address to bind; keep 127.0.0.1 in tests.
        port: 0 for a free port.
    """
    state = DoubleState(config or DoubleConfig())
    sock = listen(host, port)
    bound_port = sock.getsockname()[1]
    stop = asyncio.Event()
    task = asyncio.create_task(serve(DoubleApp(state), hypercorn_config(sock.detach()), shutdown_trigger=stop.wait))
    try:
        yield RunningDouble(host=host, port=bound_port, state=state)
    finally:
        state.stop_all()
        stop.set()
        await task


class DoubleThread:
    """A double in a background thread with its own event loop, for sync tests, Locust and the CLI.

    Use as `with DoubleThread(DoubleConfig(...)) as double:`, or call `start()` and `stop()`.
    """

    def __init__(
        self, config: DoubleConfig | None = None, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0
    ) -> None:
        self._config = config
        self._host = host
        self._port = port
        self._timeout = timeout
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._double: RunningDouble | None = None
        self._error: BaseException | None = None

    @property
    def double(self) -> RunningDouble:
        if self._double is None:
            raise RuntimeError("the double is not running")
        return self._double

    @property
    def base_url(self) -> str:
        return self.double.base_url

    def start(self) -> RunningDouble:
        """Start serving; returns once the double accepts connections.

        Raises:
            RuntimeError: already started, or the double could not start (the cause is chained).
        """
        if self._thread is not None:
            raise RuntimeError("DoubleThread can only be started once")
        self._thread = threading.Thread(target=self._main, name="gemini-double", daemon=True)
        self._thread.start()
        if not self._ready.wait(self._timeout) or self._double is None:
            self.stop()
            raise RuntimeError("the Gemini double did not start") from self._error
        return self._double

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop may have closed in between
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(self._timeout)

    def __enter__(self) -> RunningDouble:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start(); a thread has nowhere else to raise
            self._error = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve_double(self._config, host=self._host, port=self._port) as double:
            self._double = double
            self._ready.set()
            await self._stop.wait()
