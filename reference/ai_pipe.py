"""What the server and its AI worker process say to each other over their socket pair (`ai_worker.py`).

Each message is a tuple of plain values (str, int, float, None, lists, dicts: what a parsed JSON body holds),
`marshal`led and prefixed with its length (4 bytes, big-endian). Both ends are the same interpreter started from
the same files, which is all `marshal` asks; it is 3-4× quicker than `pickle` or `json` for these tuples and
cannot build objects of arbitrary classes.

Server -> worker:  ("hello", options)  first, once: the SDK client's settings and the API key (never on the
                                       worker's command line, which `ps` shows to every user)
                   ("ask", id, contents)   one question, `contents` as `GenaiClient.contents` made it
                   ("cancel", id)          the asker left or the answer timed out (AI-011)
Worker -> server:  ("ready",)              the SDK client exists
                   ("text", id, piece) ... ("end", id, finish, block, usage | None)
                   or one failure: ("http", id, code, status, details), ("timeout", id), ("failed", id, kind)

Failures cross as what `upstream_errors.classify` reads and are raised again on the server's side
(`raise_failure`), so the server classifies them exactly as it classifies the SDK's own exceptions; a `kind` is
the module's top package and the class name only, never an exception's text (UP-008).
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Iterator
from typing import Any

from roomwire.reference.upstream_errors import UpstreamHttpError, UpstreamTimeout, UpstreamTransportError

_LENGTH = 4
#: A message longer than this is a bug (an answer's pieces are small); the link is cut rather than buffered.
MAX_MESSAGE = 64 * 1024 * 1024

Message = tuple[Any, ...]


def encode(message: Message) -> bytes:
    body = marshal.dumps(message)
    return len(body).to_bytes(_LENGTH, "big") + body


class Decoder:
    """Bytes in, whole messages out, however the stream was cut."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[Message]:
        """The messages `data` completes, in order.

        Raises:
            ValueError: a length over `MAX_MESSAGE`, or a body that is not a marshalled tuple.
        """
        buffer = self._buffer
        buffer += data
        start = 0
        while len(buffer) - start >= _LENGTH:
            size = int.from_bytes(buffer[start : start + _LENGTH], "big")
            if size > MAX_MESSAGE:
                raise ValueError(f"a message of {size} bytes")
            end = start + _LENGTH + size
            if end > len(buffer):
                break
            message = marshal.loads(buffer[start + _LENGTH : end])
            if not isinstance(message, tuple) or not message:
                raise ValueError("not a message")
            start = end
            yield message
        del buffer[:start]


def plain(value: Any) -> Any:
    """`value` as something `marshal` takes: itself when it can, else its JSON round trip (unknown types as
    their `str`); the SDK's `APIError.details` is a parsed JSON body, so the round trip is the rare case."""
    try:
        marshal.dumps(value)
    except ValueError:
        return json.loads(json.dumps(value, default=str))
    return value


def failure_message(id: int, exc: BaseException) -> Message:
    """How the worker reports `exc`, raised by the SDK while answering `id` (see the module docstring)."""
    if isinstance(exc, UpstreamHttpError):
        return ("http", id, exc.code, plain(exc.status), plain(exc.details))
    if isinstance(exc, (UpstreamTimeout, TimeoutError)):
        return ("timeout", id)
    return ("failed", id, UpstreamTransportError.kind_of(exc))


def raise_failure(message: Message) -> BaseException:
    """The exception for a failure message: the one `classify` would have seen in the worker, or its stand-in."""
    kind = message[0]
    if kind == "http":
        return UpstreamHttpError(message[2], message[3], message[4])
    if kind == "timeout":
        return UpstreamTimeout()
    return UpstreamTransportError(str(message[2]))
