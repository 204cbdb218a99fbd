"""`ClientProtocol` with JSON-Schema validation moved off the measurement path, so that measuring does not
distort what it measures.

Validating a frame against `server-frame.schema.json` costs about 0.4 ms of CPU with jsonschema on an idle
machine and 2 ms on a busy one (most of it `$ref` resolution). A load-test process receives every broadcast of
every room member it simulates, all at once: ten members of one room is ten frames per message, and every
millisecond spent on one delays the arrival time read for the next. Measured on this project's shared 2-core
machine, 30 users in one room with 1 frame in 20 validated in line read a fan-out p50 of 80 ms where an
independent client saw 14 (docs/loadtest.md, Measurement quality).

So every frame takes the fast path, which skips only the schema step and keeps every other check of the
protocol (welcome first, `seq` order and gaps, AI correlation, nothing after ai_done); one frame in
`validate_every` is also handed to `spot_check`, which schema-validates it later, when the process is idle
(`roomwire.loadtest.client.SpotChecker`). A frame that does not even look like a well-typed frame of a known
type takes `ClientProtocol.receive` unchanged, in line, so it is reported at once with its requirement id.
Without a `spot_check` (tests, `validate_every=1`), sampled frames are validated in line instead.
Conformance is the conformance suite's job; here FRAME-001 is spot-checked.

The fast path is `ClientProtocol.receive_valid`, the same protocol checks without the schema step
(`tests/loadtest/test_sampled.py` feeds both paths the same frames and compares their state).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from roomwire.spec.protocol import ClientProtocol, Received
from roomwire.spec.validate import nests_deeper

_KNOWN_TYPES = frozenset({"user_msg", "ai_chunk", "ai_done", "system", "pong"})
_INT_FIELDS = ("seq", "ts", "count", "retry_after")
_STR_FIELDS = ("id", "nickname", "content", "code", "event", "status", "reason", "room")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259)")


#: One decoder for every frame: `json.loads(text, parse_constant=...)` would build a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _well_typed(data: Any) -> bool:
    """A JSON object of a known type whose fields have the types the protocol's checks rely on; anything else
    takes the validating path, which reports it."""
    if type(data) is not dict or data.get("type") not in _KNOWN_TYPES:
        return False
    for name in _INT_FIELDS:
        value = data.get(name)
        if value is not None and type(value) is not int:  # bool is a subclass of int: `type() is` excludes it
            return False
    for name in _STR_FIELDS:
        value = data.get(name)
        if value is not None and type(value) is not str:
            return False
    return True


class SampledProtocol(ClientProtocol):
    """See the module docstring; `validate_every=1` validates every frame like `ClientProtocol`."""

    def __init__(self, *, validate_every: int = 1, spot_check: Callable[[str], Any] | None = None) -> None:
        super().__init__()
        self.validate_every = max(1, validate_every)
        self.spot_check = spot_check
        self._count = 0

    def receive(self, text: str, *, now: float | None = None) -> Received:
        self._count += 1
        sampled = self.validate_every == 1 or self._count == 1 or self._count % self.validate_every == 0
        if sampled and self.spot_check is None:
            return super().receive(text, now=now)
        item = self._receive_fast(text, now)
        if sampled and self.spot_check is not None and item.frame is not None and item.data is not None:
            self.spot_check(text)
        return item

    def _receive_fast(self, text: str, now: float | None) -> Received:
        if nests_deeper(text):  # the decoder would recurse past Python's limit: the validating path says so
            return super().receive(text, now=now)
        try:
            data = _DECODER.decode(text)
        except ValueError:
            return super().receive(text, now=now)  # not JSON: the validating path says so (FRAME-001)
        if not _well_typed(data):
            return super().receive(text, now=now)
        try:
            return self.receive_valid(text, data, now=now)
        except (KeyError, ValueError, TypeError):
            return super().receive(text, now=now)  # missing field or unknown enum value: let the schema say which
