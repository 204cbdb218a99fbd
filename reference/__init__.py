"""The reference server: every requirement of SPEC.md on Quart + Hypercorn (`roomwire serve`).

    from roomwire.reference import Settings, create_app, running_server

    async with running_server(Settings(port=0)) as server:
        server.ws("lobby")  # ws://127.0.0.1:PORT/api/v1/ws/chat/lobby

Modules, one job each: `settings` (configuration), `app` (`create_app`, routes), `endpoint` (the WebSocket
upgrade), `handshake` (admission rules), `connection` (one member: the per-frame rules), `outbox` (bounded send
queue), `frames` (encode once), `broker`/`memory` (rooms), `hub` (server-wide state, shutdown), `relay` (one AI
answer), `ai` (google-genai), `upstream_errors` (failure mapping), `ratelimit`, `fastcheck` (fast frame
validation), `metrics`, `redaction`, `hypercorn_ext` (keepalive, limits, fast send path), `server` (Hypercorn),
`cli`. Documentation: docs/reference.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .app import create_app
    from .broker import Broker
    from .connection import Connection
    from .server import RunningServer, running_server, serve
    from .settings import Settings

#: Loaded on first use: `roomwire --help` imports this package (for `cli`) and must not pay for Quart or the SDK.
_EXPORTS = {
    "create_app": "app",
    "Broker": "broker",
    "Connection": "connection",
    "RunningServer": "server",
    "running_server": "server",
    "serve": "server",
    "Settings": "settings",
}

__all__ = ["Broker", "Connection", "RunningServer", "Settings", "create_app", "running_server", "serve"]


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
