"""A WebSocket upgrade read and answered without h11: the plain case of a reconnect storm, parsed once.

Hypercorn runs every request through h11 (34 µs to parse an upgrade, more to build, validate and serialize the
101, and a locked, drained write): a third of a reconnect storm's CPU per admitted connection (docs/benchmarks.md).
`RoomwireProtocolWrapper` (installed in place of Hypercorn's `ProtocolWrapper` by `hypercorn_ext.install()`, active
only under a `RoomwireConfig`) takes a shorter path when the connection's first read is exactly one complete, plain
WebSocket upgrade (`parse_upgrade`): `GET /origin-form HTTP/1.1`, tokens for header names, visible ASCII for
values, one Host, one Upgrade (`websocket`), one Connection (with `upgrade`), one Sec-WebSocket-Key, one
Sec-WebSocket-Version (13), no body, no `Expect`, at most `MAX_HEADERS` lines within h11's size limit, and nothing
after it. The request then reaches the stream as h11 would have given it (lower-case names, values without
surrounding whitespace), and `RoomwireWSStream` serializes the 101 itself (`response_head`, the same bytes h11
writes) and holds it for the welcome (`HeldResponse`): both leave in one `send()`.

Anything else takes Hypercorn's path exactly as before: a request in pieces, obs-fold, bytes outside the sets
above, duplicates, frames behind the request, any other request. The check is a subset of what h11 accepts
(tests/reference/test_fast_upgrade.py compares them), linear in the request's size and bounded by it. A request
that is refused (SEC-004/006/010, CONN-002, 503) is answered by h11 as before: `UpgradedConnection` hands it the
request head on the first HTTP response, so refusals keep their status, headers and body byte for byte.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from time import time
from typing import Any, NamedTuple

import h11
from hypercorn.asyncio import tcp_server
from hypercorn.config import Config
from hypercorn.events import RawData, Updated
from hypercorn.protocol import ProtocolWrapper
from hypercorn.protocol import h11 as hypercorn_h11
from hypercorn.protocol.events import Request
from hypercorn.typing import H11SendableEvent

#: Header lines a fast-path request may have; more take h11's path (a browser sends about 15).
MAX_HEADERS = 64
_TCHAR = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]"
_VALUE = rb"[\x21-\x7e](?:[\x20\x21-\x7e]*[\x21-\x7e])?"  # no tab, no obs-text: those go to h11
#: The whole request, checked in one pass. Atomic lines and possessive spaces: nothing is retried, so the work is
#: linear in the request's size whatever it holds (no pattern of spaces makes it quadratic).
_REQUEST = re.compile(
    rb"GET (/[\x21-\x7e]*) HTTP/1\.1\r\n((?>" + _TCHAR + rb"+:[ \t]*+(?:" + _VALUE + rb")?[ \t]*\r\n)"
    rb"{1,%d}+)\r\n" % MAX_HEADERS
)
_FIELD = re.compile(rb"([^:]+):[ \t]*+([^\r]*)\r\n")  # of a block `_REQUEST` has checked
_ONCE = (b"host", b"upgrade", b"connection", b"sec-websocket-key", b"sec-websocket-version")
_NEVER = frozenset({b"content-length", b"transfer-encoding", b"expect"})
#: The config class under which the fast path is taken (`hypercorn_ext.RoomwireConfig`, set by `install`).
_config_class: type[Config] | None = None


class Upgrade(NamedTuple):
    """A plain WebSocket upgrade request, as h11 would give it to Hypercorn."""

    target: bytes
    headers: list[tuple[bytes, bytes]]  # lower-case names, values stripped of surrounding whitespace
    head: bytes  # the request as received (for h11, should the answer be a refusal)


def parse_upgrade(data: bytes, max_size: int) -> Upgrade | None:
    """`data` as a plain WebSocket upgrade (module docstring), or None: then h11 reads it."""
    if len(data) > max_size or not data.endswith(b"\r\n\r\n"):
        return None  # too long, incomplete, or something behind it
    request = _REQUEST.fullmatch(data)
    if request is None:
        return None
    headers = [(name.lower(), value.rstrip(b" \t")) for name, value in _FIELD.findall(request[2])]
    fields = dict(headers)
    if len(fields) != len(headers):
        names = [name for name, _ in headers]
        if any(names.count(name) > 1 for name in _ONCE):
            return None
    if not _NEVER.isdisjoint(fields) or not _is_websocket(fields):
        return None
    return Upgrade(target=request[1], headers=headers, head=data)


def _is_websocket(headers: dict[bytes, bytes]) -> bool:
    connection = headers.get(b"connection", b"").lower().split(b",")
    return (
        b"host" in headers
        and headers.get(b"upgrade", b"").lower() == b"websocket"
        and b"upgrade" in [token.strip() for token in connection]
        and bool(headers.get(b"sec-websocket-key"))
        and headers.get(b"sec-websocket-version") == b"13"
    )


class UpgradedConnection(hypercorn_h11.H11WSConnection):
    """Hypercorn's pass-through connection of an upgraded stream, for a request h11 has not read: it reads it
    (once, on the first HTTP response: a refusal, or an accept with headers of the app's) before answering."""

    def __init__(self, h11_connection: h11.Connection, head: bytes) -> None:
        self.buffer = bytearray()  # nothing came behind the request (`parse_upgrade`)
        self.h11_connection = h11_connection
        self._head: bytes | None = head

    @property
    def unread(self) -> bool:
        return self._head is not None

    def send(self, event: H11SendableEvent) -> bytes:
        if self._head is not None:
            self.h11_connection.receive_data(self._head)
            self._head = None
            request = self.h11_connection.next_event()
            assert isinstance(request, h11.Request), request  # parse_upgrade accepts a subset of h11's requests
        return super().send(event)


class RoomwireProtocolWrapper(ProtocolWrapper):
    """Hypercorn's per-connection protocol wrapper, taking the fast upgrade path of the module docstring for the
    first read of an HTTP/1.1 connection (whatever `H11Protocol` class is installed: the Gemini double has its own)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        config = self.config
        self._rw_fast = (
            _config_class is not None
            and isinstance(config, _config_class)
            and not config.h11_pass_raw_headers
            and isinstance(self.protocol, hypercorn_h11.H11Protocol)
        )

    async def handle(self, event: Any) -> None:
        if self._rw_fast and isinstance(event, RawData):
            self._rw_fast = False  # only the first read: anything after it is h11's
            protocol = self.protocol
            upgrade = parse_upgrade(event.data, self.config.h11_max_incomplete_size)
            if (
                upgrade is not None
                and isinstance(protocol, hypercorn_h11.H11Protocol)
                and isinstance(protocol.connection, h11.Connection)
                and protocol.stream is None
            ):
                await _start(protocol, upgrade, protocol.connection)
                return
        await super().handle(event)


async def _start(protocol: hypercorn_h11.H11Protocol, upgrade: Upgrade, connection: h11.Connection) -> None:
    """What `H11Protocol._handle_events` and `_create_stream` do with an upgrade request, without h11."""
    await protocol.send(Updated(idle=False))
    stream = getattr(hypercorn_h11, "WSStream")(  # noqa: B009 - the installed class (RoomwireWSStream), not exported
        protocol.app, protocol.config, protocol.context, protocol.task_group, protocol.ssl, protocol.client,
        protocol.server, protocol.stream_send, hypercorn_h11.STREAM_ID,
    )  # fmt: skip
    protocol.stream = stream
    protocol.connection = UpgradedConnection(connection, upgrade.head)
    request = Request(
        stream_id=hypercorn_h11.STREAM_ID, headers=upgrade.headers, http_version="1.1", method="GET",
        raw_path=upgrade.target, state=protocol.connection_state,
    )  # fmt: skip
    await stream.handle(request)
    protocol.keep_alive_requests += 1
    await protocol.context.mark_request()


def unread(protocol: object) -> bool:
    """Whether h11 has not read the request of `protocol`'s stream: its 101 may be written without h11."""
    connection = getattr(protocol, "connection", None)
    return isinstance(connection, UpgradedConnection) and connection.unread


class HeldResponse:
    """The 101 of a fast upgrade, held back so that it leaves in one write with the first frames (the welcome):
    one `send()` per admitted connection fewer. Whoever writes to the connection first takes it (`take`): the
    app's direct writes and every write of the stream. Should nothing be written soon, it goes out on its own
    two loop turns after the accept (one turn is when the app's first frames are flushed)."""

    __slots__ = ("data", "_transport")

    def __init__(self, data: bytes, transport: asyncio.WriteTransport) -> None:
        self.data = data
        self._transport = transport
        loop = asyncio.get_running_loop()
        loop.call_soon(loop.call_soon, self.flush)

    def take(self) -> bytes:
        """The 101, once; then nothing."""
        data, self.data = self.data, b""
        return data

    def flush(self) -> None:
        """Write the 101 now, unless it is out or the connection is closing (nothing to answer)."""
        if self.data and not self._transport.is_closing():
            self._transport.write(self.take())


_STATUS_101 = b"HTTP/1.1 101 \r\n"
_default_headers: dict[int, tuple[int, list[tuple[bytes, bytes]]]] = {}


def response_head(headers: Iterable[tuple[bytes, bytes]], config: Config) -> bytes:
    """The 101 with `headers` and Hypercorn's own (Date, ...), as h11 serializes it (names lower case)."""
    lines = [_STATUS_101]
    for name, value in (*headers, *_config_headers(config)):
        lines += (name.lower(), b": ", value, b"\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


def _config_headers(config: Config) -> list[tuple[bytes, bytes]]:
    """`config.response_headers("h11")`, made once a second: only the Date in it changes, by the second."""
    now = int(time())
    cached = _default_headers.get(id(config))
    if cached is None or cached[0] != now:
        cached = (now, config.response_headers("h11"))
        _default_headers.clear()
        _default_headers[id(config)] = cached
    return cached[1]


def install(config_class: type[Config]) -> None:
    """Make Hypercorn's asyncio server wrap connections in `RoomwireProtocolWrapper`s, fast under `config_class`
    (called by `hypercorn_ext.install()`)."""
    global _config_class
    _config_class = config_class
    setattr(tcp_server, "ProtocolWrapper", RoomwireProtocolWrapper)  # noqa: B010 - imported by name there
