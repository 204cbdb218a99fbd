"""Process-wide patches for the variants whose defect is not in a `Connection` method.

`python -m roomwire.targets.broken` applies them in its own process before the server starts; the suite's
own tests apply them in-process and call the returned undo when the variant stops.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from roomwire.reference import page, ratelimit, redaction, server
from roomwire.reference.page import Page

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


class _Verbatim:
    """An `AnswerScrubber` that lets everything through."""

    def feed(self, piece: str) -> str:
        return piece

    def flush(self) -> str:
        return ""


def key_in_answer() -> Undo:
    """SEC-003: answer text goes to the asker as upstream wrote it, a key in it included."""
    original = redaction.AnswerScrubber
    redaction.AnswerScrubber = _Verbatim  # type: ignore[misc, assignment]

    def undo() -> None:
        redaction.AnswerScrubber = original  # type: ignore[misc]

    return undo


def page_policy_only_in_meta() -> Undo:
    """SEC-009: the page as a plain static file server sends it: its policy only in its <meta> element."""
    original_load, original_base = page.load_page, page.BASE_HEADERS

    def load_page(origins: tuple[str, ...], path: Path = page.PAGE) -> Page | None:
        loaded = original_load(origins, path)
        return None if loaded is None else Page(loaded.body, {})

    page.load_page = load_page
    page.BASE_HEADERS = {}

    def undo() -> None:
        page.load_page, page.BASE_HEADERS = original_load, original_base

    return undo
