"""Reading client frames for less than wsproto charges: C unmasking always, and no wsproto at all for the frames
nearly every client sends.

wsproto parses a frame in pure Python through a generator, a header object, a masker, a frame object and an
incremental UTF-8 decoder: ~70 µs of a loaded server core for one small `ai_msg` (docs/benchmarks.md), and about a
fifth of the chat fan-out's CPU. Two shortcuts, both leaving wsproto exactly as it would have been:

- `unmask_in_c`: wsproto's frame decoder with the XOR done by websockets' C `apply_mask` (any frame).
- `complete_text_frames` + `FastReader`: while wsproto holds nothing (no partial frame, no message in pieces), the
  frames at the start of a read that are whole, final, masked text frames with valid UTF-8 and no reserved bits
  (the only kind the protocol's clients send for messages) are decoded here; wsproto reads what follows from the
  first frame that is anything else: control frames, fragments, binary, a frame cut by the read, bad UTF-8, every
  protocol error. Such frames change none of wsproto's state (its events for them would be `TextMessage`s only),
  so skipping it is invisible to it. `tests/reference/test_ws_receive.py` feeds the same bytes both ways.
"""

from __future__ import annotations

from typing import Any

from wsproto.connection import Connection, ConnectionState
from wsproto.frame_protocol import FrameDecoder, XorMaskerSimple

try:
    from websockets.speedups import apply_mask as _c_apply_mask
except ImportError:  # pragma: no cover - websockets ships its C speedups for the platforms we run on
    _c_apply_mask = None  # type: ignore[assignment]

_FIN_TEXT = 0x81  # FIN, no reserved bits, opcode 1 (text)
_MASKED = 0x80
_LENGTH_16 = 126
_LENGTH_64 = 127


class _CMasker:
    """wsproto's `XorMaskerSimple` with the XOR done in C; the key rotates past what was consumed, as wsproto's."""

    __slots__ = ("_key",)

    def __init__(self, masking_key: bytes | bytearray) -> None:
        self._key = bytes(masking_key)

    def process(self, data: bytearray) -> bytes:
        if not data:
            return b""
        key = self._key
        out: bytes = _c_apply_mask(data, key)
        turn = len(data) % 4  # a payload may arrive in pieces: the next piece starts at this key byte
        if turn:
            self._key = key[turn:] + key[:turn]
        return out


class _CMaskingFrameDecoder(FrameDecoder):
    """wsproto's frame decoder with `_CMasker` for masked (client) frames."""

    def parse_header(self) -> bool:
        if not super().parse_header():
            return False
        masker = self.masker
        if type(masker) is XorMaskerSimple:
            self.masker = _CMasker(masker._masking_key)  # type: ignore[assignment]
        return True


def unmask_in_c(connection: object) -> None:
    """Switch a wsproto connection's frame decoder to C unmasking (nothing when its internals are not as known)."""
    decoder = getattr(getattr(connection, "_proto", None), "_frame_decoder", None)
    if _c_apply_mask is not None and type(decoder) is FrameDecoder:
        decoder.__class__ = _CMaskingFrameDecoder


def complete_text_frames(data: bytes) -> tuple[list[str], int]:
    """The texts of the whole, final, masked text frames at the start of client bytes `data`, with no reserved bits,
    a 7-bit or (minimal) 16-bit length and valid UTF-8; and how many bytes those frames take. Stops at the first
    frame that is anything else, or is cut short: wsproto reads from there."""
    texts: list[str] = []
    end = len(data)
    start = 0
    while end - start >= 6:  # the smallest masked frame: 2 header bytes, 4 key bytes
        if data[start] != _FIN_TEXT:
            break
        second = data[start + 1]
        if not second & _MASKED:
            break
        length = second & 0x7F
        key_at = start + 2
        if length == _LENGTH_16:
            length = (data[key_at] << 8) | data[key_at + 1]
            if length < _LENGTH_16:  # not minimal: a protocol error, which wsproto reports
                break
            key_at += 2
        elif length == _LENGTH_64:
            break  # larger than any message the protocol allows: wsproto (and LIMIT-001) deal with it
        frame_end = key_at + 4 + length
        if frame_end > end:
            break
        try:
            texts.append(_c_apply_mask(data[key_at + 4 : frame_end], data[key_at : key_at + 4]).decode("utf-8"))
        except UnicodeDecodeError:  # wsproto answers it (1007)
            break
        start = frame_end
    return texts, start


class FastReader:
    """Tells when one wsproto connection's next bytes may skip it: open, nothing buffered, between messages."""

    __slots__ = ("_connection", "_frames", "_messages", "_events")

    def __init__(self, connection: Connection, frames: FrameDecoder, messages: Any, events: Any) -> None:
        self._connection = connection
        self._frames = frames
        self._messages = messages
        self._events = events

    @classmethod
    def of(cls, connection: Connection) -> FastReader | None:
        """None when wsproto's internals are not where this module reads them (another wsproto: its parser then
        reads everything; `test_ws_receive` fails for the installed one), or without websockets' C speedups."""
        proto = getattr(connection, "_proto", None)
        frames = getattr(proto, "_frame_decoder", None)
        messages = getattr(proto, "_message_decoder", None)
        events = getattr(connection, "_events", None)
        if _c_apply_mask is None or not isinstance(frames, FrameDecoder) or events is None:
            return None
        if getattr(proto, "extensions", None) or not all(
            hasattr(part, name) for part, name in ((frames, "header"), (frames, "buffer"), (messages, "opcode"))
        ):
            return None
        return cls(connection, frames, messages, events)

    def idle(self) -> bool:
        """wsproto holds no part of a frame or message, and nothing it has yet to report: bytes may skip it."""
        frames = self._frames
        return (
            frames.header is None
            and not len(frames.buffer)
            and self._messages.opcode is None
            and not self._events
            and self._connection.state is ConnectionState.OPEN
        )
