"""Server frames as they go on the wire, built once and shared by every recipient.

A `WireFrame` holds the JSON text of a server frame and the complete WebSocket frame carrying it (RFC 6455 §5.2:
FIN + text opcode, the payload length, no mask and no extension bits, since the server never masks and our
Hypercorn extension turns permessage-deflate off). Unmasked, uncompressed server frames are identical for every
recipient, so a broadcast encodes JSON once and frames it once, and every connection writes the same `bytes`.
"""

from __future__ import annotations

import struct

from roomwire.spec.messages import ServerFrame, encode

_TEXT_FIN = 0x81


def frame_header(length: int) -> bytes:
    """The header of an unmasked, final text frame with a payload of `length` bytes."""
    if length < 126:
        return bytes((_TEXT_FIN, length))
    if length < 1 << 16:
        return struct.pack("!BBH", _TEXT_FIN, 126, length)
    return struct.pack("!BBQ", _TEXT_FIN, 127, length)


class WireFrame:
    """One server frame: `text` for an ASGI `websocket.send`, `data` for writing straight to the socket."""

    __slots__ = ("text", "data", "size", "kind")

    def __init__(self, text: str, kind: str) -> None:
        payload = text.encode("utf-8")
        self.text = text
        self.data = frame_header(len(payload)) + payload
        self.size = len(self.data)  # an attribute, not a property: read once per recipient
        self.kind = kind  # the frame's `type`, for the frames-out metric

    @classmethod
    def of(cls, frame: ServerFrame) -> WireFrame:
        return cls(encode(frame), str(getattr(frame, "TYPE", "")))

    def __repr__(self) -> str:
        return f"WireFrame({self.text[:60]!r}…)" if len(self.text) > 60 else f"WireFrame({self.text!r})"
