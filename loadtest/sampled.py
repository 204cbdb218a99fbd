"""`ClientProtocol` with JSON-Schema validation on a sample of frames, so that measuring does not distort it.

Validating a frame against `server-frame.schema.json` costs about 0.4 ms of CPU with jsonschema (most of it
`$ref` resolution). A load-test process receives every broadcast of every room member it simulates: ten users
in a room that all speak at once is 100 frames, 40 ms of validation, and the last frame's fan-out time grows by
those 40 ms although the server delivered it in one. The measurement then reports the load generator's CPU.

So one frame in `validate_every` (and the first frame, and any frame that does not look like a well-typed
frame of a known type) goes through `ClientProtocol.receive` unchanged, schema and all; the others skip only the
schema step and get every other check of the protocol (welcome first, `seq` order and gaps, AI correlation,
nothing after ai_done). Conformance is the conformance suite's job; here FRAME-001 is spot-checked.

The fast path repeats the few lines of `ClientProtocol.receive` after its validation; keep the two in step
(`tests/loadtest/test_sampled.py` feeds both the same frames and compares their state).
"""

from __future__ import annotations

from typing import Any

from roomwire.spec.messages import AiChunk, AiDone, ServerUserMsg, System, parse_server_frame
from roomwire.spec.protocol import ClientProtocol, Received
from roomwire.spec.validate import parse_json_object

_KNOWN_TYPES = frozenset({"user_msg", "ai_chunk", "ai_done", "system", "pong"})
_INT_FIELDS = ("seq", "ts", "count", "retry_after")
_STR_FIELDS = ("id", "nickname", "content", "code", "event", "status", "reason", "room")


def _well_typed(data: dict[str, Any]) -> bool:
    """Types the protocol's checks rely on; a frame failing this takes the validating path, which reports it."""
    if data.get("type") not in _KNOWN_TYPES:
        return False
    for name in _INT_FIELDS:
        value = data.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return False
    return all(isinstance(data.get(name), str) for name in _STR_FIELDS if data.get(name) is not None)


class SampledProtocol(ClientProtocol):
    """See the module docstring; `validate_every=1` validates every frame like `ClientProtocol`."""

    def __init__(self, *, validate_every: int = 1) -> None:
        super().__init__()
        self.validate_every = max(1, validate_every)
        self._count = 0

    def receive(self, text: str, *, now: float | None = None) -> Received:
        self._count += 1
        if self.validate_every == 1 or self._count == 1 or self._count % self.validate_every == 0:
            return super().receive(text, now=now)
        data = parse_json_object(text)
        if isinstance(data, str) or not _well_typed(data):
            return super().receive(text, now=now)
        try:
            frame = parse_server_frame(data)
        except (KeyError, ValueError, TypeError):
            return super().receive(text, now=now)  # missing field or unknown enum value: let the schema say which
        index = len(self.received)
        item = Received(index=index, raw=text, frame=frame, at=now, data=data)
        self.received.append(item)
        self._check_welcome(index, frame)
        if isinstance(frame, ServerUserMsg):
            self._check_broadcast(index, frame)
            self._check_seq(index, frame.seq)
        elif isinstance(frame, System):
            self._on_system(index, frame)
        elif isinstance(frame, AiChunk | AiDone):
            self._on_ai(index, frame, now)
        return item
