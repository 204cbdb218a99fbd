"""The reference server: every requirement of SPEC.md on Quart + Hypercorn (`roomwire serve`).

    from roomwire.reference import Settings, create_app, running_server

    async with running_server(Settings(port=0)) as server:
        server.ws("lobby")  # ws://127.0.0.1:PORT/api/v1/ws/chat/lobby

Modules, one job each (docs/reference.md draws how a frame goes through them):

    settings         `Settings`: the configuration, read from the environment once
    app              `create_app`: the Quart app, its routes and the resources it holds while serving
    server           `serve`/`running_server`: Hypercorn around the app
    cli              `roomwire serve`
    endpoint         the WebSocket upgrade, in front of Quart (and the host check of every request)
    handshake        the admission rules of an upgrade (host, origin, room id, nickname, since)
    peers            a client's address (trusted proxies) and the per-address limits counted on it
    listener         TCP connections before HTTP: per-address pending limit, fd headroom, accept errors
    connection       one member of one room: the rule for every client frame, and how it ends
    outbox           the bounded send queue of one connection (FLOW-001/002)
    frames           a server frame encoded once, shared by every recipient
    hub              the server-wide state of one app: connections, budget, metrics, shutdown
    rooms/           the broker (presence, `seq`, fan-out, history) and the AI budget: rooms/__init__.py maps it
    ratelimit        the frame rate limit (LIMIT-003/004) and the AI budget's sliding window
    relay            one AI answer, from the question to its `ai_done`
    ai               the only google-genai import: the Gemini client (real or the double)
    ai_worker        the Gemini client off the socket loop (`--ai-worker process|thread`): start, stop, restart
    ai_worker_process  the worker's side: the SDK on a loop of its own, answering over a socket pair
    ai_pipe          the messages between the server and its AI worker
    upstream_errors  what an upstream failure becomes for the client
    metrics          the Prometheus metrics
    redaction        secrets kept out of logs, errors and AI answers
    logs             one redacted, escaped, rate-limited line per log record; warnings and uncaught errors too
    hypercorn_ext    Hypercorn extensions: keepalive, frame limits, control-frame budget, fast send and receive
    ws_receive       client frames read for less: C unmasking, and whole text frames without wsproto
    idle_timer       Hypercorn's keep-alive idle timeout as a timer until a connection has been idle a while
    fast_upgrade     a plain WebSocket upgrade parsed once and answered without h11 (reconnect storms)
    keepalive        one timer per event loop that pings every WebSocket (PRES-004)
    quiet_gc         the full garbage collection `roomwire serve` defers, run when the process goes quiet
    page             the chat page's bytes and the HTTP headers it is served with (SEC-009)
    static/          the chat page
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from roomwire.spec.exports import lazy_getattr

if TYPE_CHECKING:
    from .app import create_app
    from .connection import Connection
    from .rooms.broker import Broker
    from .server import RunningServer, running_server, serve
    from .settings import Settings

#: Loaded on first use (roomwire.spec.exports): `roomwire --help` imports this package (for `cli`) and must not
#: pay for Quart or the SDK.
_EXPORTS = {
    "create_app": "app",
    "Broker": "rooms.broker",
    "Connection": "connection",
    "RunningServer": "server",
    "running_server": "server",
    "serve": "server",
    "Settings": "settings",
}

__all__ = ["Broker", "Connection", "RunningServer", "Settings", "create_app", "running_server", "serve"]


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())
