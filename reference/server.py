"""Run the app under Hypercorn, configured in code, with the graceful stop of RECON-002.

`serve()` binds the listening socket itself (so port 0 works and the real URL is known before the first
client; a port in use is a one-line `ConfigError`), builds a `RoomwireConfig` (keepalive, frame limit, close
timeout, control budget, the TCP gate; see `hypercorn_ext` and `listener`), installs the extensions, and serves
until `stop` is set (the CLI sets it on SIGTERM/SIGINT). Then the hub ends AI answers, says `server_restart` and
closes every socket with 1012, while new upgrades are answered 503; then Hypercorn stops accepting, and when the
last connection is gone, the app's resources are released and `serve()` returns.

`running_server()` is the same in a background task, for tests and the conformance suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hypercorn.asyncio import serve as hypercorn_serve
from quart import Quart

from roomwire.reference import hypercorn_ext, listener
from roomwire.reference.app import create_app, hub_of
from roomwire.reference.handshake import CHAT_PREFIX
from roomwire.reference.hub import Hub
from roomwire.reference.settings import Settings
from roomwire.spec.errors import ConfigError

log = logging.getLogger("roomwire.reference")

#: Hypercorn's per-connection queue of received messages (ASGI `receive`): bounded, so a client that sends
#: faster than its handler reads is slowed by TCP, not buffered (10 x max_frame_bytes at most).
MAX_APP_QUEUE = 10
BACKLOG = 2048


def hypercorn_config(settings: Settings, fd: int) -> hypercorn_ext.RoomwireConfig:
    """Hypercorn's settings for `settings`, serving the already bound socket `fd`."""
    config = hypercorn_ext.RoomwireConfig()
    config.bind = [f"fd://{fd}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.backlog = BACKLOG
    config.max_app_queue_size = MAX_APP_QUEUE
    config.websocket_max_message_size = settings.limits.max_frame_bytes  # LIMIT-001, in bytes (hypercorn_ext)
    config.websocket_ping_interval = float(settings.ping_interval_s)  # PRES-004
    config.websocket_ping_timeout = float(settings.ping_timeout_s)
    config.roomwire_close_timeout = settings.close_timeout_s
    config.keep_alive_timeout = settings.request_timeout_s  # LIMIT-009: no complete request in time, closed
    config.roomwire_control_rate = float(settings.limits.control_per_s)  # LIMIT-007
    config.roomwire_control_burst = settings.limits.control_burst
    config.graceful_timeout = settings.shutdown_grace_s + settings.close_timeout_s + 2.0
    config.include_server_header = False
    if settings.certfile is not None:
        config.certfile = settings.certfile
        config.keyfile = settings.keyfile
    return config


def listen(host: str, port: int) -> socket.socket:
    """The listening socket.

    Raises:
        ConfigError: the address cannot be bound (in use, not ours, no permission): one line, exit code 2.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=BACKLOG)
    except OSError as exc:
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ConfigError(f"cannot listen on {where}: {reason} (--host/--port)") from None


def websocket_url(settings: Settings, port: int) -> str:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"{'wss' if settings.tls else 'ws'}://{host}:{port}{CHAT_PREFIX}{{room_id}}"


async def serve(
    settings: Settings,
    *,
    app: Quart | None = None,
    stop: asyncio.Event | None = None,
    ready: Callable[[str], Any] | None = None,
) -> None:
    """Serve until `stop` is set, then stop gracefully (module docstring). `ready(url)` is called once the app
    serves (`_announce`)."""
    app = app if app is not None else create_app(settings)
    hub = hub_of(app)
    if not hypercorn_ext.install():
        log.error("WebSocket keepalive is OFF: half-open connections will not be noticed (PRES-004)")
    listener.install()
    sock = listen(settings.host, settings.port)
    port = sock.getsockname()[1]
    config = hypercorn_config(settings, sock.detach())
    config.roomwire_gate = gate_for(settings, hub, listener.raise_fd_limit())
    if settings.tls:
        config.create_ssl_context()  # fail now on a bad certificate, not at the first client
    stop = stop if stop is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    announced = loop.create_task(_announce(hub, ready, websocket_url(settings, port))) if ready is not None else None
    restore = listener.quiet_accept_errors(loop)
    try:
        await hypercorn_serve(app, config, shutdown_trigger=_trigger(stop, hub), mode="asgi")
    finally:
        restore()
        if announced is not None:
            announced.cancel()


async def _announce(hub: Hub, ready: Callable[[str], Any], url: str) -> None:
    """`ready(url)` once the app's `while_serving` has run (the broker, the AI client and its worker exist): who
    waits for the URL (`roomwire serve`'s line, the bundled conformance target, scripts) then connects to a server
    that answers at once, not to a backlog that waits for an AI worker starting on a busy machine."""
    await hub.serving.wait()
    ready(url)


def gate_for(settings: Settings, hub: Hub, fd_limit: int) -> listener.Gate:
    """LIMIT-009's per-address count (not for trusted proxies and exempt addresses), under the process's fd limit."""

    def exempt(address: str) -> bool:
        return hub.proxies.trusts(address) or hub.addresses.exempt(address)

    per_address = 0 if settings.no_limits else settings.max_pending_per_address
    return listener.Gate(per_address=per_address, max_open=listener.max_open_connections(fd_limit), exempt=exempt)


def _trigger(stop: asyncio.Event, hub: Hub) -> Callable[[], Awaitable[None]]:
    """Hypercorn stops accepting when this returns: only after the hub's drain, so that an upgrade during the stop
    is answered 503 (the hub refuses it), not with a refused connection."""

    async def wait() -> None:
        await stop.wait()
        log.info("stopping: new upgrades get 503, the open connections are closed with 1012")
        await hub.begin_shutdown()

    return wait


@dataclass
class RunningServer:
    """A server running in the current event loop (see `running_server`)."""

    url: str  # ws://127.0.0.1:PORT/api/v1/ws/chat/{room_id}
    app: Quart
    stop: asyncio.Event

    @property
    def hub(self) -> Hub:
        return hub_of(self.app)

    def ws(self, room: str, query: str = "") -> str:
        """The WebSocket URL of `room`, with an optional query string (`nickname=a&lang=en`)."""
        return self.url.replace("{room_id}", room) + (f"?{query}" if query else "")

    @property
    def http(self) -> str:
        """`http(s)://host:port` of the same server (for /healthz, /metrics)."""
        base = self.url.split(CHAT_PREFIX)[0]
        return base.replace("wss://", "https://", 1).replace("ws://", "http://", 1)


@contextlib.asynccontextmanager
async def running_server(settings: Settings, **app_options: Any) -> AsyncIterator[RunningServer]:
    """Serve `create_app(settings, **app_options)` in a task while the block runs; stop it gracefully after."""
    app = create_app(settings, **app_options)
    stop = asyncio.Event()
    url: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, app=app, stop=stop, ready=url.set_result))
    try:
        # `ready` comes once the app serves (`_announce`); a start-up that fails ends the task first: its error
        either: list[asyncio.Future[Any]] = [url, task]
        await asyncio.wait(either, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if not url.done():
            if task.done():
                task.result()
                raise RuntimeError("the server stopped during start-up")
            raise TimeoutError("the server did not start within 30 s")
        yield RunningServer(url=url.result(), app=app, stop=stop)
    finally:
        stop.set()
        await task
