"""Wire frames are RFC 6455 text frames, unmasked and final, built once (frames.py)."""

from __future__ import annotations

import pytest

from roomwire.reference.frames import WireFrame, frame_header
from roomwire.spec.messages import Pong


@pytest.mark.parametrize("length", [0, 125, 126, 65535, 65536, 1 << 20])
def test_header_lengths(length: int) -> None:
    header = frame_header(length)
    assert header[0] == 0x81 and not header[1] & 0x80
    if length < 126:
        assert header[1] == length
    elif length < 65536:
        assert header[1] == 126 and int.from_bytes(header[2:4], "big") == length
    else:
        assert header[1] == 127 and int.from_bytes(header[2:10], "big") == length


def test_a_wire_frame_carries_text_bytes_and_kind() -> None:
    frame = WireFrame.of(Pong(id="p"))
    assert frame.text == '{"type":"pong","id":"p"}' and frame.kind == "pong"
    assert frame.data == bytes((0x81, len(frame.text))) + frame.text.encode() and frame.size == len(frame.data)
    assert repr(frame).startswith("WireFrame(") and "…" in repr(WireFrame("x" * 100, "k"))
