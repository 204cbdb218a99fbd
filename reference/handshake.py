"""Decide about a WebSocket upgrade before accepting it: host, origin, room, query (SEC-006, SEC-004/010, CONN-002).

Pure functions over the ASGI scope's parts; the endpoint turns a `Refusal` into an HTTP response before the
handshake completes, so a client learns at once that its URL is wrong, not after it "joined" (CONN-002).

The room is read from the path as sent (`raw_path`), before percent-decoding: `%61` is not `a` (SPEC.md §1).
The `Host` must be one the server serves (`host_allowed`, against DNS rebinding), and an `Origin` must match an
allowed origin exactly (`origin_allowed`): the request's own host, or a loopback origin when the request itself
came to a loopback host, or one of the configured origins.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from roomwire.spec.fastcheck import nickname_ok
from roomwire.spec.hosts import LOOPBACK_NAMES, is_loopback_host
from roomwire.spec.limits import ROOM_ID_PATTERN
from roomwire.spec.texts import DEFAULT_LANG, Lang

CHAT_PREFIX = "/api/v1/ws/chat/"
_ROOM = re.compile(ROOM_ID_PATTERN)
_SINCE = re.compile(r"^[0-9]+$")


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


def parse_room(path: str | bytes) -> str | Refusal:
    """CONN-002: the `room_id` of `/api/v1/ws/chat/{room_id}`, matching `^[A-Za-z0-9_-]{1,64}$`.

    Give it the path as sent (ASGI `raw_path`): a percent-escape is then three characters outside the pattern.
    """
    if isinstance(path, bytes):
        path = path.decode("latin-1")
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


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def host_name(host: str) -> str | None:
    """The name (or address) of a `Host` header value, without its port, lower case; None when malformed."""
    try:
        parts = urlsplit(f"//{host.strip()}")
        hostname, _ = parts.hostname, parts.port  # `port` raises ValueError for a bad port
    except ValueError:
        return None
    if not hostname or parts.username is not None or parts.path:
        return None
    return hostname


def host_allowed(host: str | None, allowed: Iterable[str]) -> bool:
    """SEC-006: the request names a host this server serves (a DNS-rebinding page names its own).

    `allowed` holds host names (`chat.example`, any port) or `*`. By default (empty) the server serves IP
    literals and `localhost`: a rebinding page can only name a DNS name it controls, never an address. A request
    without `Host` (HTTP/1.0, not a browser) is not refused for that.
    """
    if host is None:
        return True
    return _host_allowed(host, tuple(allowed))


@functools.lru_cache(maxsize=1024)
def _host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """Remembered: a deployment's requests name a few hosts, and parsing one took 5 µs of every upgrade of a
    reconnect storm (docs/benchmarks.md); 1,024 entries bound what a client sending many names can hold."""
    if "*" in allowed:
        return True
    name = host_name(host)
    if name is None:
        return False
    if name in {a.lower() for a in allowed}:
        return True
    return _is_ip_literal(name) or name in LOOPBACK_NAMES


def serialized_origin(origin: str) -> str | None:
    """`scheme://host[:port]` of an Origin header, lower case; None when it is not a serialized origin (RFC 6454):
    another scheme, `null`, userinfo, a path (even `/`), a query or a fragment (SPEC.md §13)."""
    try:
        parts = urlsplit(origin.strip())
        hostname, _ = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not hostname or "@" in parts.netloc:
        return None
    if parts.path or parts.query or parts.fragment or origin.rstrip().endswith(("?", "#")):
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def origin_allowed(origin: str | None, host: str | None, allowed: Iterable[str]) -> bool:
    """SEC-004/010: no Origin (not a browser), a configured origin, or by default the own host or loopback.

    `allowed` holds origins (`https://game.example`), compared exactly (scheme, host and port, case-insensitively),
    or `*`. When it is empty, the default applies: an Origin whose host[:port] equals the request's `Host`, or,
    when the request itself came to a loopback host, a loopback origin on any port (a development page).
    """
    if origin is None:
        return True
    allowed = tuple(allowed)
    if "*" in allowed:
        return True
    wanted = serialized_origin(origin)
    if wanted is None:
        return False
    if allowed:
        return wanted in {a.strip().rstrip("/").lower() for a in allowed}
    if host is None:
        return False
    netloc = wanted.split("://", 1)[1]
    if netloc == host.strip().lower():
        return True
    name = host_name(host)
    origin_host = urlsplit(wanted).hostname or ""
    return name is not None and is_loopback_host(name) and is_loopback_host(origin_host)  # SEC-010


def header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The first value of header `name` (lower case) as text, or None."""
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None
