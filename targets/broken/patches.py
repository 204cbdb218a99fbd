"""Process-wide patches for the variants whose defect is not in a `Connection` method.

`python -m roomwire.targets.broken` applies them in its own process before the server starts; the suite's
own tests apply them in-process and call the returned undo when the variant stops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from roomwire.reference import endpoint, ratelimit, server

Undo = Callable[[], None]


def _config_patch(**changes: Any) -> Undo:
    original = server.hypercorn_config

    def patched(settings: Any, fd: int) -> Any:
        config = original(settings, fd)
        for name, value in changes.items():
            setattr(config, name, value)
        return config

    server.hypercorn_config = patched

    def undo() -> None:
        server.hypercorn_config = original

    return undo


def no_keepalive() -> Undo:
    """PRES-004: Hypercorn's default, no pings at all."""
    return _config_patch(websocket_ping_interval=None, websocket_ping_timeout=None)


def no_frame_limit() -> Undo:
    """LIMIT-001: Hypercorn's 16 MiB default, whatever welcome.limits says."""
    return _config_patch(websocket_max_message_size=16 * 1024 * 1024)


def no_ai_budget() -> Undo:
    """LIMIT-005: every question is admitted."""
    original = ratelimit.AiBudget.try_acquire
    ratelimit.AiBudget.try_acquire = lambda self, now: 0  # type: ignore[method-assign]

    def undo() -> None:
        ratelimit.AiBudget.try_acquire = original  # type: ignore[method-assign]

    return undo


def _origin_patch(allowed: Callable[[str | None, str | None, Any], bool]) -> Undo:
    names = endpoint.__dict__  # the endpoint calls the name it imported from handshake
    original = names["origin_allowed"]
    names["origin_allowed"] = allowed

    def undo() -> None:
        names["origin_allowed"] = original

    return undo


def origin_by_prefix() -> Undo:
    """SEC-004: an Origin is allowed when it starts with a loopback origin or the request's own (a prefix test)."""

    def allowed(origin: str | None, host: str | None, configured: Any) -> bool:
        if origin is None:
            return True
        starts = ("http://localhost", "https://localhost", "http://127.0.0.1", "https://127.0.0.1", "https://[::1]")
        own = tuple(f"{scheme}://{host}" for scheme in ("http", "https")) if host else ()
        return origin.lower().startswith(starts + own)

    return _origin_patch(allowed)


def refuses_every_origin() -> Undo:
    """SEC-004: any upgrade that carries an Origin header is refused, the server's own host and loopback too."""
    return _origin_patch(lambda origin, host, configured: origin is None)
