"""Frames read without wsproto are read exactly as wsproto reads them, and wsproto reads everything else."""

from __future__ import annotations

import asyncio
import itertools
import random
from typing import Any

import pytest
from websockets.speedups import apply_mask
from wsproto.connection import Connection, ConnectionType
from wsproto.events import CloseConnection, Event, Message, Ping, Pong, TextMessage
from wsproto.frame_protocol import XorMaskerSimple

from roomwire.reference import ws_receive
from tests.reference.helpers import Client, serving
from tests.support.timing import UNIT

TEXTS = ("", "hi", "반가워 🎱", "x" * 125, "y" * 126, "z" * 300, "é" * 200)


def frame(
    first: int, payload: bytes, *, masked: bool = True, length_bytes: int | None = None, key: bytes = b""
) -> bytes:
    """A client frame with a real mask (`key`, random unless given); `length_bytes` forces the length's encoding."""
    size = len(payload)
    if length_bytes is None:
        length_bytes = 0 if size < 126 else 2 if size < 1 << 16 else 8
    mask_bit = 0x80 if masked else 0
    if length_bytes == 0:
        header = bytes((first, mask_bit | size))
    else:
        header = bytes((first, mask_bit | (126 if length_bytes == 2 else 127))) + size.to_bytes(length_bytes, "big")
    if not masked:
        return header + payload
    key = key or random.randbytes(4)
    return header + key + apply_mask(payload, key)


def some_frame(rng: random.Random) -> bytes:
    """One client frame: mostly good text, and every kind wsproto must still read or refuse."""
    text = rng.choice(TEXTS).encode()
    kind = rng.choices(
        ["text", "bad_utf8", "binary", "ping", "pong", "fragmented", "unmasked", "rsv", "long16", "long64", "close"],
        weights=[30, 2, 2, 3, 3, 3, 1, 1, 1, 1, 1],
    )[0]
    if kind == "text":
        return frame(0x81, text)
    if kind == "bad_utf8":
        cut = rng.randint(0, len(text))
        return frame(0x81, text[:cut] + rng.choice([b"\xff", b"\xed\xa0\x80", b"\xc0\xaf", b"\xe2\x82"]) + text[cut:])
    if kind == "binary":
        return frame(0x82, text)
    if kind in ("ping", "pong"):
        return frame(0x89 if kind == "ping" else 0x8A, text[:125])
    if kind == "fragmented":
        cut = rng.randint(0, len(text))
        return frame(0x01, text[:cut]) + frame(0x80, text[cut:])
    if kind == "unmasked":
        return frame(0x81, text, masked=False)
    if kind == "rsv":
        return frame(0x81 | rng.choice([0x40, 0x20, 0x10]), text)
    if kind == "long16":
        return frame(0x81, text[:125], length_bytes=2)  # not minimal: a protocol error
    if kind == "long64":
        return frame(0x81, b"w" * 70_000)
    return frame(0x88, (1000).to_bytes(2, "big") + b"bye")


def seen(event: Event) -> tuple[Any, ...]:
    if isinstance(event, Message):
        return (type(event).__name__, event.data, event.frame_finished, event.message_finished)
    if isinstance(event, (Ping, Pong)):
        return (type(event).__name__, bytes(event.payload))
    if isinstance(event, CloseConnection):
        return ("close", int(event.code))
    return (type(event).__name__,)  # pragma: no cover - wsproto has no other event for a server


def by_wsproto(pieces: list[bytes]) -> list[tuple[Any, ...]]:
    connection = Connection(ConnectionType.SERVER)
    return _read(connection, pieces, fast=False)


def as_our_stream(pieces: list[bytes]) -> list[tuple[Any, ...]]:
    """What `RoomwireWSStream` gets: C unmasking, and the leading whole text frames of each read without wsproto."""
    connection = Connection(ConnectionType.SERVER)
    ws_receive.unmask_in_c(connection)
    return _read(connection, pieces, fast=True)


def _read(connection: Connection, pieces: list[bytes], *, fast: bool) -> list[tuple[Any, ...]]:
    reader = ws_receive.FastReader.of(connection)
    assert reader is not None
    events: list[tuple[Any, ...]] = []
    for piece in pieces:
        if fast and reader.idle():
            texts, used = ws_receive.complete_text_frames(piece)
            events += [seen(TextMessage(data=text)) for text in texts]
            piece = piece[used:]
        if piece:
            connection.receive_data(piece)
            events += [seen(event) for event in connection.events()]
        if any(event[0] == "close" for event in events):  # the stream stops reading after a close or an error
            return events[: next(i for i, event in enumerate(events) if event[0] == "close") + 1]
    return events


@pytest.mark.parametrize("seed", range(6))
def test_every_read_gives_wsproto_s_events(seed: int) -> None:
    """2,000 random streams of frames, cut into random reads: the same events, in the same order, as wsproto alone
    (good text, bad UTF-8, binary, control frames, fragments, unmasked, reserved bits, odd lengths, closes)."""
    rng = random.Random(seed)
    random.seed(seed)
    fast_frames = 0
    for _ in range(2_000 // 6):
        data = b"".join(some_frame(rng) for _ in range(rng.randint(1, 8)))
        cuts = sorted({0, len(data), *(rng.randint(0, len(data)) for _ in range(rng.randint(0, 4)))})
        pieces = [data[a:b] for a, b in itertools.pairwise(cuts)]
        assert as_our_stream(pieces) == by_wsproto(pieces), pieces
        fast_frames += sum(len(ws_receive.complete_text_frames(piece)[0]) for piece in pieces)
    assert fast_frames > 150  # the shortcut was taken, not only wsproto compared with itself


def test_whole_text_frames_are_read_and_the_rest_is_left() -> None:
    good = [frame(0x81, text.encode()) for text in TEXTS]
    data = b"".join(good)
    assert ws_receive.complete_text_frames(data) == (list(TEXTS), len(data))
    ping = frame(0x89, b"p")
    assert ws_receive.complete_text_frames(good[1] + ping + good[2]) == ([TEXTS[1]], len(good[1]))
    assert ws_receive.complete_text_frames(good[1] + good[2][:-1]) == ([TEXTS[1]], len(good[1]))  # cut short
    assert ws_receive.complete_text_frames(frame(0x81, b"\xff")) == ([], 0)  # wsproto answers bad UTF-8 (1007)
    assert ws_receive.complete_text_frames(frame(0x81, b"ok", masked=False)) == ([], 0)


def test_the_installed_wsproto_is_the_one_read() -> None:
    """`FastReader` finds wsproto's state where it looks (a wsproto that moves it fails here, not silently slow)."""
    connection = Connection(ConnectionType.SERVER)
    reader = ws_receive.FastReader.of(connection)
    assert reader is not None and reader.idle()
    connection.receive_data(frame(0x01, b"half"))  # a message in pieces: wsproto must read what follows
    list(connection.events())
    assert not reader.idle()
    connection.receive_data(frame(0x80, b" done") + frame(0x81, b"more")[:3])  # a frame cut short: wsproto holds it
    list(connection.events())
    assert not reader.idle()


async def test_a_served_connection_reads_text_frames_without_wsproto(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stream takes the shortcut for what a client says, and wsproto still reads a ping between them."""
    read: list[str] = []
    original = ws_receive.complete_text_frames

    def counted(data: bytes) -> tuple[list[str], int]:
        texts, used = original(data)
        read.extend(texts)
        return texts, used

    monkeypatch.setattr(ws_receive, "complete_text_frames", counted)
    async with serving() as server, Client.connect(server.ws("fast")) as a:
        await a.joined()
        await a.say("one")
        await asyncio.wait_for(await a.ws.ping(), UNIT)  # answered: wsproto read the ping
        await a.say("two")
        said = [await a.expect(lambda f: f.get("type") == "user_msg") for _ in range(2)]
        assert [frame["content"] for frame in said] == ["one", "two"]
    assert sum('"one"' in text or '"two"' in text for text in read) == 2


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 150, 2001])
def test_c_unmasking_gives_wsproto_s_bytes_piece_by_piece(size: int) -> None:
    """A payload may reach the decoder in pieces: the key must rotate past each piece exactly as wsproto's does."""
    rng = random.Random(size)
    for _ in range(20):
        key = rng.randbytes(4)
        data = rng.randbytes(size)
        cuts = sorted({0, size, *(rng.randint(0, size) for _ in range(3))})
        ours, theirs = ws_receive._CMasker(key), XorMaskerSimple(key)
        for start, end in itertools.pairwise(cuts):
            piece = bytearray(data[start:end])
            assert ours.process(bytearray(piece)) == bytes(theirs.process(piece))


def test_our_streams_decode_with_c_unmasking() -> None:
    """`unmask_in_c` finds wsproto's decoder where it expects it (a wsproto upgrade that moves it fails here)."""
    connection = Connection(ConnectionType.SERVER)
    ws_receive.unmask_in_c(connection)
    assert type(connection._proto._frame_decoder) is ws_receive._CMaskingFrameDecoder
    key = b"\x37\xfa\x21\x3d"
    payload = "반가워, masked in C".encode()
    data = frame(0x81, payload, key=key)
    for index in range(len(data)):  # one byte at a time: every rotation of the key
        connection.receive_data(data[index : index + 1])
    texts = "".join(event.data for event in connection.events() if isinstance(event, TextMessage))
    assert texts == payload.decode()
