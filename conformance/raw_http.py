"""WebSocket upgrade requests written by hand, for the checks that must choose what `websockets` decides itself:
the `Host` header (SEC-006, SEC-010), a path sent exactly as given (CONN-002's `%61`), or a request left half-sent
(LIMIT-009). Each answer is read no further than its status line; every connection is closed by the caller's
`async with`, also when a check fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from roomwire.conformance.target import PLACEHOLDER, Endpoint

#: The fixed key of RFC 6455 §1.3's example: the suite never completes these handshakes, so any key will do.
_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def request_head(endpoint: Endpoint, room_path: str, headers: Mapping[str, str] | None = None) -> bytes:
    """An upgrade request for `room_path` put in place of `{room_id}` as it is (no escaping); `headers` may
    replace `Host`."""
    fields = {"Host": endpoint.netloc, **(headers or {})}
    path = endpoint.path_template.replace(PLACEHOLDER, room_path)
    lines = [f"GET {path} HTTP/1.1", *(f"{name}: {value}" for name, value in fields.items())]
    lines += ["Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {_KEY}", "Sec-WebSocket-Version: 13"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass
class RawConnection:
    """One hand-made TCP (or TLS) connection to the target."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def ended(self, within: float) -> bool:
        """Whether the target ended the connection (EOF or reset) within `within` seconds; what it sent is
        discarded."""
        try:
            while await asyncio.wait_for(self.reader.read(65536), within):
                pass
        except TimeoutError:
            return False
        except (ConnectionError, ssl.SSLError):
            pass
        return True

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.transport.abort()


async def open_raw(endpoint: Endpoint, context: ssl.SSLContext | None, within: float) -> RawConnection:
    """A connection to `endpoint` (TLS with `context` for wss://).

    Raises:
        OSError, TimeoutError: it could not be opened.
    """
    opening = (
        asyncio.open_connection(endpoint.host, endpoint.port, ssl=context, server_hostname=endpoint.host)
        if endpoint.secure
        else asyncio.open_connection(endpoint.host, endpoint.port)
    )
    async with asyncio.timeout(within):  # not wait_for: on 3.11 it can drop a connection made as it times out
        reader, writer = await opening
    return RawConnection(reader, writer)


@contextlib.asynccontextmanager
async def raw_connection(
    endpoint: Endpoint, context: ssl.SSLContext | None, within: float
) -> AsyncIterator[RawConnection]:
    connection = await open_raw(endpoint, context, within)
    try:
        yield connection
    finally:
        connection.close()


async def upgrade_status(
    endpoint: Endpoint,
    context: ssl.SSLContext | None,
    room_path: str,
    headers: Mapping[str, str] | None,
    within: float,
) -> int | str:
    """The HTTP status the target answers a hand-written upgrade with, or why there was none (a text)."""
    try:
        async with raw_connection(endpoint, context, within) as connection:
            connection.writer.write(request_head(endpoint, room_path, headers))
            line = await asyncio.wait_for(connection.reader.readline(), within)
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        return f"{type(exc).__name__}: {exc}"
    parts = line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return f"no HTTP status line ({line[:60]!r})"
    return int(parts[1])
