from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from roomwire.gemini_double.asgi import BodyTooLarge, ClientGone, ClientWatch, HttpRequest, read_body


def _receiver(*messages: dict[str, Any]) -> Callable[[], Awaitable[dict[str, Any]]]:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for message in messages:
        queue.put_nowait(message)
    return queue.get


def test_request_from_scope() -> None:
    scope = {
        "method": "POST",
        "path": "/v1/models",
        "query_string": b"alt=sse&key=k1&key=k2&empty=",
        "headers": [(b"X-Goog-Api-Key", b"abc"), (b"x-goog-api-key", b"second")],
    }
    request = HttpRequest.from_scope(scope)
    assert request.query == {"alt": "sse", "key": "k1", "empty": ""}
    assert request.headers == {"x-goog-api-key": "abc"}


async def test_read_body_in_parts_and_limits() -> None:
    parts = _receiver(
        {"type": "http.request", "body": b"ab", "more_body": True}, {"type": "http.request", "body": b"c"}
    )
    assert await read_body(parts, 10) == b"abc"
    with pytest.raises(BodyTooLarge):
        await read_body(_receiver({"type": "http.request", "body": b"abcdef"}), 3)
    with pytest.raises(ClientGone):
        await read_body(_receiver({"type": "http.disconnect"}), 3)


async def test_client_watch_pauses_and_sees_a_disconnect() -> None:
    gone: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    async with ClientWatch(gone.get, asyncio.Event()) as watch:
        assert await watch.pause(0) is False
        assert await watch.pause(0.01) is False
        gone.put_nowait({"type": "http.disconnect"})
        assert await watch.pause(5) is True
        assert watch.client_gone and await watch.pause(5) is True
