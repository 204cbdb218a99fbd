"""The few ASGI pieces the double needs, without a framework.

The double is a raw ASGI app, not a Quart app, for two reasons: the `abort` fault must end a chunked response
without its terminating chunk (an ASGI app that returns before `more_body=False` makes Hypercorn close the
connection mid-body, which a framework's response object never does), and a load test must never be slowed by
the double (see bench/gemini_double_rps.py). `Any` appears only in the ASGI message dicts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

#: ASGI's dicts are typed loosely on purpose: Hypercorn's TypedDict unions are not assignable to one dict type.
Scope = Mapping[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]


class ClientGone(Exception):
    """The client disconnected before the request body was complete."""


class BodyTooLarge(Exception):
    """The request body is larger than the configured limit."""


@dataclass(frozen=True)
class HttpRequest:
    """The parts of an HTTP scope the double looks at; header names lower-cased, first query value wins."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]

    @classmethod
    def from_scope(cls, scope: Scope) -> HttpRequest:
        query: dict[str, str] = {}
        for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
            query.setdefault(name, value)
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", []):
            headers.setdefault(raw_name.decode("latin-1").lower(), raw_value.decode("latin-1"))
        return cls(method=scope["method"], path=scope["path"], query=query, headers=headers)


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body.

    Raises:
        ClientGone: the client left first.
        BodyTooLarge: more than `limit` bytes.
    """
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        body = message.get("body", b"")
        size += len(body)
        if size > limit:
            raise BodyTooLarge
        parts.append(body)
        if not message.get("more_body", False):
            return b"".join(parts)


def encode_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]


async def send_whole(send: Send, status: int, body: bytes, headers: Iterable[tuple[str, str]]) -> None:
    """A complete response with a content-length."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*encode_headers(headers), (b"content-length", str(len(body)).encode("ascii"))],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def start_stream(send: Send, status: int, headers: Iterable[tuple[str, str]]) -> None:
    """Response headers with no content-length: Hypercorn sends the body chunked, as Google does."""
    await send({"type": "http.response.start", "status": status, "headers": encode_headers(headers)})


async def send_part(send: Send, data: bytes, *, last: bool = False) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": not last})


class ClientWatch:
    """Sets `interrupt` when the client disconnects, by reading `receive` in a task once the body is read.

    The same event is set by the double's shutdown (`DoubleState.stop_all`), so one wait covers both.
    """

    def __init__(self, receive: Receive, interrupt: asyncio.Event) -> None:
        self.interrupt = interrupt
        self.client_gone = False
        self._receive = receive
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ClientWatch:
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _watch(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass  # pragma: no cover - after the body, Hypercorn only ever delivers http.disconnect
        self.client_gone = True
        self.interrupt.set()

    async def pause(self, seconds: float) -> bool:
        """Wait `seconds` (no wait at 0); True when interrupted by a disconnect or the double's shutdown."""
        if self.interrupt.is_set():
            return True
        if seconds <= 0:
            return False
        try:
            await asyncio.wait_for(self.interrupt.wait(), seconds)
        except TimeoutError:
            return False
        return True
