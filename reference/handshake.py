"""Decide about a WebSocket upgrade before accepting it: room, query parameters, origin (CONN-002, SEC-004).

Pure functions over the ASGI scope's parts; the endpoint turns a `Refusal` into an HTTP response before the
handshake completes, so a client learns at once that its URL is wrong, not after it "joined" (CONN-002).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from roomwire.spec.fastcheck import nickname_ok
from roomwire.spec.limits import ROOM_ID_PATTERN
from roomwire.spec.texts import DEFAULT_LANG, Lang

CHAT_PREFIX = "/api/v1/ws/chat/"
_ROOM = re.compile(ROOM_ID_PATTERN)
_SINCE = re.compile(r"^[0-9]+$")
_LOOPBACK_NAMES = frozenset({"localhost"})


@dataclass(frozen=True, slots=True)
class Refusal:
    """An HTTP status and a short fixed reason (never client text, ERR-003)."""

    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class Admission:
    """A well-formed upgrade request: where it wants to go and as whom."""

    room: str
    nickname: str | None
    lang: Lang
    since: int | None
    address: str  # the peer's IP address ("" when the server does not say)


def parse_room(path: str) -> str | Refusal:
    """CONN-002: the `room_id` of `/api/v1/ws/chat/{room_id}`, matching `^[A-Za-z0-9_-]{1,64}$`."""
    room = path[len(CHAT_PREFIX) :] if path.startswith(CHAT_PREFIX) else ""
    if not _ROOM.fullmatch(room):
        return Refusal(400, "invalid room_id")
    return room


def parse_query(query_string: bytes) -> tuple[str | None, Lang, int | None] | Refusal:
    """CONN-002: `nickname`, `lang` and `since`, each valid or absent (unknown parameters are ignored)."""
    try:
        pairs = parse_qsl(query_string.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        return Refusal(400, "invalid query string")
    params: dict[str, str] = {}
    for name, value in pairs:
        params.setdefault(name, value)  # the first value of a repeated parameter counts
    nickname = params.get("nickname")
    if nickname is not None and not nickname_ok(nickname):
        return Refusal(400, "invalid nickname")  # IDENT-004
    lang_text = params.get("lang", DEFAULT_LANG.value)
    if lang_text not in (Lang.KO.value, Lang.EN.value):
        return Refusal(400, "invalid lang")
    since_text = params.get("since")
    since: int | None = None
    if since_text is not None:
        try:
            since = int(since_text) if _SINCE.fullmatch(since_text) else -1
        except ValueError:  # more digits than Python converts
            since = -1
        if since < 0:
            return Refusal(400, "invalid since")
    return nickname, Lang(lang_text), since


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def origin_allowed(origin: str | None, host: str | None, allowed: Iterable[str]) -> bool:
    """SEC-004: no Origin (not a browser), a configured origin, or by default the request's own host or loopback.

    `allowed` holds exact origins (`https://game.example`) or `*`. When it is empty, the default applies: an origin
    whose host[:port] equals the request's `Host` header, or whose host is a loopback name or address. An Origin
    that is not a serialized origin (userinfo, a path, a query: no browser sends one) is refused (SPEC.md §13).
    """
    if origin is None:
        return True
    allowed = tuple(allowed)
    if allowed:
        return "*" in allowed or origin.rstrip("/").lower() in {a.rstrip("/").lower() for a in allowed}
    try:
        parts = urlsplit(origin)
        hostname = parts.hostname
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not hostname:
        return False
    if "@" in parts.netloc or parts.path not in ("", "/") or parts.query or parts.fragment:
        return False
    if host is not None and parts.netloc.lower() == host.strip().lower():
        return True
    return _is_loopback(hostname)


def header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The first value of header `name` (lower case) as text, or None."""
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None
