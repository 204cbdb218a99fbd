"""Server frames as they go on the wire, built once and shared by every recipient.

A `WireFrame` holds the JSON text of a server frame and the complete WebSocket frame carrying it (RFC 6455 §5.2:
FIN + text opcode, the payload length, no mask and no extension bits, since the server never masks and our
Hypercorn extension turns permessage-deflate off). Unmasked, uncompressed server frames are identical for every
recipient, so a broadcast encodes JSON once and frames it once, and every connection writes the same `bytes`.
"""

from __future__ import annotations

import functools
import json
import json.encoder
import struct
from collections.abc import Callable
from typing import Any

from roomwire.spec.codes import SystemEvent
from roomwire.spec.limits import Limits
from roomwire.spec.messages import Resume, ServerFrame
from roomwire.spec.texts import Lang, event_text

_TEXT_FIN = 0x81
#: `spec.messages.encode`'s two encodings (compact UTF-8 text; `\\u` escapes when that cannot be UTF-8), built
#: once: `json.dumps` with keyword arguments builds a new `JSONEncoder` on every call.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_ESCAPED = json.JSONEncoder(separators=(",", ":"))


def _one_shot(encoder: json.JSONEncoder) -> Callable[[dict[str, Any]], str]:
    """`encoder.encode` for a dict, with CPython's C encoder made once, not on every call (1.8 against 3.6 µs for
    a presence frame: every welcome and join of a reconnect storm, every chat message, is encoded here). No
    circular-reference check: our frames are trees built by this package."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator: the encoder's own path
        return encoder.encode
    chunks = make(
        None, encoder.default, json.encoder.encode_basestring if not encoder.ensure_ascii
        else json.encoder.encode_basestring_ascii, None, encoder.key_separator, encoder.item_separator,
        encoder.sort_keys, encoder.skipkeys, encoder.allow_nan,
    )  # fmt: skip
    return lambda data: "".join(chunks(data, 0))


_compact, _escaped = _one_shot(_COMPACT), _one_shot(_ESCAPED)


def frame_header(length: int) -> bytes:
    """The header of an unmasked, final text frame with a payload of `length` bytes."""
    if length < 126:
        return bytes((_TEXT_FIN, length))
    if length < 1 << 16:
        return struct.pack("!BBH", _TEXT_FIN, 126, length)
    return struct.pack("!BBQ", _TEXT_FIN, 127, length)


def encode_json(data: dict[str, Any]) -> tuple[str, bytes]:
    """A frame's JSON object as `spec.messages.encode` writes it, and its UTF-8 bytes (encoded once)."""
    text = _compact(data)
    try:
        return text, text.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate: sent escaped, as `encode` does
        text = _escaped(data)
        return text, text.encode("utf-8")


class WireFrame:
    """One server frame: `text` for an ASGI `websocket.send`, `data` for writing straight to the socket."""

    __slots__ = ("text", "data", "size", "kind")

    def __init__(self, text: str, kind: str, payload: bytes | None = None) -> None:
        if payload is None:
            payload = text.encode("utf-8")
        self.text = text
        self.data = frame_header(len(payload)) + payload
        self.size = len(self.data)  # an attribute, not a property: read once per recipient
        self.kind = kind  # the frame's `type`, for the frames-out metric

    @classmethod
    def of(cls, frame: ServerFrame) -> WireFrame:
        return cls.of_json(frame.to_json(), str(getattr(frame, "TYPE", "")))

    @classmethod
    def of_json(cls, data: dict[str, Any], kind: str) -> WireFrame:
        """A frame from its JSON object (the `to_json()` of a spec frame)."""
        text, payload = encode_json(data)
        return cls(text, kind, payload)

    def __repr__(self) -> str:
        return f"WireFrame({self.text[:60]!r}…)" if len(self.text) > 60 else f"WireFrame({self.text!r})"


def welcome_frame(
    *, room: str, nickname: str | None, seq: int, members: list[str], limits: Limits,
    capabilities: tuple[str, ...], resume: Resume | None, lang: Lang,
) -> WireFrame:  # fmt: skip
    """`WireFrame.of(System.welcome(...))` without building the frozen dataclass first: every admission sends one
    (21 → 7 µs; tests/reference/test_frames.py compares the bytes with `spec.messages.encode`). The limits and
    capabilities, the same in every welcome of a server, are encoded once (`_welcome_tail`)."""
    data: dict[str, Any] = {"type": "system", "event": "welcome"}
    data["content"] = event_text(SystemEvent.WELCOME, lang, room=room)
    if nickname is not None:
        data["nickname"] = nickname
    data["seq"], data["room"], data["members"] = seq, room, members
    text = _compact(data)[:-1] + _welcome_tail(limits, capabilities)
    if resume is not None:
        text += ',"resume":' + _compact(resume.to_json())
    text += ',"nickname":null}' if nickname is None else "}"  # null when unbound, last: as `System.to_json` puts it
    try:
        return WireFrame(text, "system", text.encode("utf-8"))
    except UnicodeEncodeError:  # an unpaired surrogate: the whole object escaped, as `encode` does
        data["limits"], data["capabilities"] = limits.to_json(), list(capabilities)
        if resume is not None:
            data["resume"] = resume.to_json()
        if nickname is None:
            data["nickname"] = None
        return WireFrame.of_json(data, "system")


@functools.lru_cache(maxsize=16)
def _welcome_tail(limits: Limits, capabilities: tuple[str, ...]) -> str:
    """`,"limits":{...},"capabilities":[...]` as `_compact` writes them inside the welcome."""
    return "," + _compact({"limits": limits.to_json(), "capabilities": list(capabilities)})[1:-1]
