"""Broken variants of issue 13's hardening rules: each breaks exactly one of them, as `connections` does for the
others (a `Connection` subclass overriding one seam, or a process-wide patch undone by its return value).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from roomwire.reference import endpoint, handshake, server
from roomwire.reference.connection import Connection
from roomwire.reference.frames import WireFrame
from roomwire.reference.handshake import Refusal
from roomwire.spec.hosts import is_loopback_host
from roomwire.spec.messages import ClientPing
from roomwire.targets.broken.patches import Undo, _config_patch

#: ~1,000 levels of arrays: what the variant below sends, and what made the suite's parser recurse.
_DEEP = "[" * 1000 + "]" * 1000


class ParsesDeepFrames(Connection):
    """INPUT-009: every frame goes through a parser without a depth limit first, so ~1,000 levels of nesting
    raise `RecursionError` and the connection is closed with 1011 (the reference before issue 13)."""

    async def on_text(self, text: str) -> None:
        with contextlib.suppress(ValueError):  # bad JSON is the reference's to answer; RecursionError is not
            json.loads(text)
        await super().on_text(text)


class SendsDeepFrames(Connection):
    """FRAME-001 (nesting): before each pong, a frame nested ~1,000 levels deep, which the suite must report as a
    FRAME-001 failure, not crash on. The pong itself follows, so every check that pings still gets its answer."""

    def on_ping(self, frame: ClientPing) -> None:
        self.outbox.push(WireFrame('{"type":"pong","x-deep":' + _DEEP + "}", "pong"))
        super().on_ping(frame)


def no_control_budget() -> Undo:
    """LIMIT-007: pings, pongs and fragments are read and answered without limit (Hypercorn's own behaviour)."""
    return _config_patch(roomwire_control_rate=None)


class NoJoinLimit(Connection):
    """LIMIT-008: advertises join_burst and join_rate_per_min, lets any address join a room as often as it likes."""

    async def enter(self) -> bool:
        self.hub.take_join = lambda address, room: 0  # type: ignore[method-assign]
        return await super().enter()


def _swap(module: object, name: str, value: object) -> Undo:
    """Replace `module.name` by `value` (a name imported there from elsewhere); returns what puts it back."""
    original = getattr(module, name)
    setattr(module, name, value)
    return lambda: setattr(module, name, original)


def decodes_room_id() -> Undo:
    """CONN-002: the room is judged after percent-decoding, so `%61` joins room `a` (the reference before issue 13)."""

    def decoded(path: str | bytes) -> str | Refusal:
        text = path.decode("latin-1") if isinstance(path, bytes) else path
        return handshake.parse_room(unquote(text))

    return _swap(endpoint, "parse_room", decoded)


def loopback_origin_anywhere() -> Undo:
    """SEC-010: any loopback Origin is allowed whatever the Host (the default before issue 13)."""

    def allowed(origin: str | None, host: str | None, configured: Iterable[str]) -> bool:
        parsed = handshake.serialized_origin(origin) if origin else None
        loopback = parsed is not None and is_loopback_host(urlsplit(parsed).hostname or "")
        return loopback or handshake.origin_allowed(origin, host, configured)

    return _swap(endpoint, "origin_allowed", allowed)


def no_pending_limit() -> Undo:
    """LIMIT-009: one address may hold any number of half-sent requests, for an hour each."""
    original = server.gate_for

    def unlimited(settings: Any, hub: Any, fd_limit: int) -> Any:
        gate = original(settings, hub, fd_limit)
        gate.per_address = 0
        return gate

    undo_gate, undo_config = _swap(server, "gate_for", unlimited), _config_patch(keep_alive_timeout=3600.0)

    def undo() -> None:
        undo_config()
        undo_gate()

    return undo
