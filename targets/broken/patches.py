"""Process-wide patches for the variants whose defect is not in a `Connection` method.

`python -m roomwire.targets.broken` applies them in its own process before the server starts; the suite's
own tests apply them in-process and call the returned undo when the variant stops.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from roomwire.reference import endpoint, handshake, hypercorn_ext, page, ratelimit, redaction, server, upstream_errors
from roomwire.reference.page import Page
from roomwire.reference.rooms import memory

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


def _endpoint_patch(name: str, value: Any) -> Undo:
    names = endpoint.__dict__
    original = names[name]
    names[name] = value

    def undo() -> None:
        names[name] = original

    return undo


def refuses_long_room_ids() -> Undo:
    """CONN-001: a room_id longer than 32 characters (valid up to 64) is refused with 400."""

    def parse_room(path: str | bytes) -> Any:
        room = handshake.parse_room(path)
        return handshake.Refusal(400, "invalid room_id") if isinstance(room, str) and len(room) > 32 else room

    return _endpoint_patch("parse_room", parse_room)


def accepts_any_room() -> Undo:
    """CONN-002: any non-empty room_id is accepted (dots, spaces, Hangul, 65 characters)."""

    def parse_room(path: str | bytes) -> Any:
        path = unquote(path.decode("latin-1")) if isinstance(path, bytes) else path  # the room as the URL means it
        room = path[len(handshake.CHAT_PREFIX) :] if path.startswith(handshake.CHAT_PREFIX) else ""
        return room or handshake.Refusal(400, "invalid room_id")

    return _endpoint_patch("parse_room", parse_room)


def _method_patch(owner: Any, name: str, value: Any) -> Undo:
    original = owner.__dict__[name]
    setattr(owner, name, value)

    def undo() -> None:
        setattr(owner, name, original)

    return undo


def seq_gaps() -> Undo:
    """CHAT-005: every room event takes two seq numbers (strictly increasing, never consecutive)."""
    original = memory.MemoryBroker.publish

    async def publish(self: Any, room: str, draft: Any) -> Any:
        self._room(room).seq += 1
        return await original(self, room, draft)

    return _method_patch(memory.MemoryBroker, "publish", publish)


def replays_in_reverse() -> Undo:
    """RECON-004: resume replays the missed events newest first."""
    original = memory.MemoryBroker.join

    async def join(self: Any, room: str, member: Any, *, capacity: int, since: int | None) -> Any:
        joined = await original(self, room, member, capacity=capacity, since=since)
        return dataclasses.replace(joined, replay=tuple(reversed(joined.replay)))

    return _method_patch(memory.MemoryBroker, "join", join)


def invalid_utf8_closes_with_1011() -> Undo:
    """INPUT-005: a text frame that is not UTF-8 closes the connection with 1011 instead of 1007."""
    stream = hypercorn_ext.RoomwireWSStream
    original = stream._rw_close_event

    async def close_event(self: Any, event: Any) -> None:
        if getattr(event, "code", None) == 1007:
            event = type(event)(code=1011)
        await original(self, event)

    return _method_patch(stream, "_rw_close_event", close_event)


def page_policy_only_in_meta() -> Undo:
    """SEC-009: the page as a plain static file server sends it: its policy only in its <meta> element."""
    original_load, original_base = page.load_page, page.BASE_HEADERS

    def load_page(origins: tuple[str, ...], path: Path | None = None) -> Page | None:
        loaded = original_load(origins, path)
        return None if loaded is None else Page(loaded.body, {})

    page.load_page = load_page
    page.BASE_HEADERS = {}

    def undo() -> None:
        page.load_page, page.BASE_HEADERS = original_load, original_base

    return undo


def no_log_redaction() -> Undo:
    """SEC-003's log side (with upstream.LogsErrorDetails): records are written as they were made; the reference
    masks every key in every record when it is made (redaction.install)."""
    return _method_patch(redaction, "redact_record", lambda record: None)


def _retry_after_patch(fallback: Callable[[Any, int], int]) -> Undo:
    """UP-001's defects: `fallback(details, what the reference reads)` decides retry_after for an upstream 429."""
    original = upstream_errors.retry_after_from
    return _method_patch(upstream_errors, "retry_after_from", lambda details: fallback(details, original(details)))


def _has_retry_info(details: Any) -> bool:
    return upstream_errors.RETRY_INFO_TYPE in json.dumps(details)


def retry_soon_without_retry_info() -> Undo:
    """UP-001: a 429 without RetryInfo gets retry_after 1 (try again at once), not 60."""
    return _retry_after_patch(lambda details, read: read if _has_retry_info(details) else 1)


def _quota_day_left_s() -> int:
    """Seconds until Google's quota day ends (midnight Pacific; UTC-8 here)."""
    now = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=-8)))
    return max(1, int((now.replace(hour=0, minute=0, second=0, microsecond=0) - now).total_seconds()) + 86_400)


def retry_after_until_the_quota_day_ends() -> Undo:
    """UP-001: a 429 that names a per-day quota gets retry_after until that quota resets, not RetryInfo's delay."""
    return _retry_after_patch(lambda details, read: _quota_day_left_s() if "PerDay" in json.dumps(details) else read)
