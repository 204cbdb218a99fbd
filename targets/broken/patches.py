"""Process-wide patches for the variants whose defect is not in a `Connection` method.

`python -m roomwire.targets.broken` applies them in its own process before the server starts; the suite's
own tests apply them in-process and call the returned undo when the variant stops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from roomwire.reference import ratelimit, server

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
