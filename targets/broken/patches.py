"""Process-wide patches for the variants whose defect is not in a `Connection` method.

Only `python -m roomwire.targets.broken` applies them, in its own process, before the server starts.
"""

from __future__ import annotations

from typing import Any

from roomwire.reference import ratelimit, server


def _config_patch(**changes: Any) -> None:
    original = server.hypercorn_config

    def patched(settings: Any, fd: int) -> Any:
        config = original(settings, fd)
        for name, value in changes.items():
            setattr(config, name, value)
        return config

    server.hypercorn_config = patched


def no_keepalive() -> None:
    """PRES-004: Hypercorn's default, no pings at all."""
    _config_patch(websocket_ping_interval=None, websocket_ping_timeout=None)


def no_frame_limit() -> None:
    """LIMIT-001: Hypercorn's 16 MiB default, whatever welcome.limits says."""
    _config_patch(websocket_max_message_size=16 * 1024 * 1024)


def no_ai_budget() -> None:
    """LIMIT-005: every question is admitted."""
    ratelimit.AiBudget.try_acquire = lambda self, now: 0  # type: ignore[method-assign]
