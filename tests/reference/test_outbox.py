"""One connection's send side without a server: frames leave in order, a broadcaster never waits, a reader that
stops reading only overflows its own outbox (FLOW-001, FLOW-002), and a close goes after what is queued."""

from __future__ import annotations

import asyncio
from typing import Any

from roomwire.reference.frames import WireFrame
from roomwire.reference.outbox import HIGH_WATER, FastWire, Flusher, Outbox, Wire
from tests.support.timing import UNIT


def frame(n: int, size: int = 0) -> WireFrame:
    return WireFrame(f'{{"type":"user_msg","content":"{n}{"x" * size}"}}', "user_msg")


class Peer:
    """The ASGI `send` of one client; `stalled` holds every send until released, as a reader that stopped does."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.stalled = asyncio.Event()
        self.stalled.set()

    async def send(self, message: dict[str, Any]) -> None:
        await self.stalled.wait()
        self.sent.append(message)

    def texts(self) -> list[str]:
        return [m["text"] for m in self.sent if m["type"] == "websocket.send"]


class Transport(asyncio.WriteTransport):
    """What the fast wire writes into: it records writes and reports a write buffer of `buffered` bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.buffered = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return False


def outbox(wire: Wire, limit: int = 1 << 20) -> tuple[Outbox, list[str], dict[str, int]]:
    overflows: list[str] = []
    counts: dict[str, int] = {}
    box = Outbox(wire, limit=limit, flusher=Flusher(), on_overflow=lambda: overflows.append("1013"), counts=counts)
    return box, overflows, counts


async def settled(condition: Any) -> None:
    async with asyncio.timeout(UNIT):
        while not condition():  # noqa: ASYNC110 - the writer task runs between these sleeps
            await asyncio.sleep(0.001)


async def test_frames_leave_in_order_and_push_never_waits_for_the_peer() -> None:
    peer = Peer()
    box, overflows, counts = outbox(Wire(peer.send))
    peer.stalled.clear()  # the reader stopped: push must still return at once (FLOW-001)
    for n in range(5):
        box.push(frame(n))
    assert box.queued_bytes == sum(frame(n).size for n in range(5)) and peer.sent == []
    peer.stalled.set()
    await settled(lambda: len(peer.sent) == 5)
    assert peer.texts() == [frame(n).text for n in range(5)]
    assert box.queued_bytes == 0 and counts == {"user_msg": 5} and overflows == []


async def test_a_reader_that_stops_overflows_only_its_own_outbox() -> None:
    slow, quick = Peer(), Peer()
    slow.stalled.clear()
    slow_box, slow_overflows, _ = outbox(Wire(slow.send), limit=10_000)
    quick_box, quick_overflows, _ = outbox(Wire(quick.send), limit=10_000)
    for n in range(40):
        for box in (slow_box, quick_box):
            box.push(frame(n, 400))
        await asyncio.sleep(0)
    await settled(lambda: len(quick.sent) == 40)
    assert slow_overflows and not quick_overflows  # FLOW-002: 1013 for the slow reader, nothing for the other
    assert slow_box.queued_bytes > 10_000 >= quick_box.queued_bytes


async def test_the_fast_wire_writes_one_batch_per_loop_iteration_until_the_transport_is_congested() -> None:
    peer, transport = Peer(), Transport()
    box, _, _ = outbox(FastWire(peer.send, transport, is_open=lambda: True))
    for n in range(3):
        box.push(frame(n))
    await settled(lambda: transport.written)
    assert transport.written == [b"".join(frame(n).data for n in range(3))] and peer.sent == []
    transport.buffered = HIGH_WATER  # congested: the writer task sends through ASGI and awaits the drain
    box.push(frame(3))
    await settled(lambda: peer.sent)
    assert len(transport.written) == 1 and peer.sent[0]["data"] == frame(3).data


async def test_a_close_goes_after_what_is_queued_and_later_pushes_are_dropped() -> None:
    peer = Peer()
    box, _, _ = outbox(Wire(peer.send))
    box.push(frame(1))
    box.close(1000, "bye")
    box.push(frame(2))
    await settled(lambda: peer.sent and peer.sent[-1]["type"] == "websocket.close")
    assert peer.texts() == [frame(1).text] and peer.sent[-1] == {
        "type": "websocket.close",
        "code": 1000,
        "reason": "bye",
    }
    assert box.closing


async def test_a_discarding_close_drops_the_queue_even_when_the_peer_never_reads() -> None:
    peer = Peer()
    box, _, _ = outbox(Wire(peer.send))
    peer.stalled.clear()
    box.push(frame(1))
    await asyncio.sleep(0.01)  # the writer task is now stuck sending frame 1
    box.close(1013, "too slow", discard=True)
    assert box.queued_bytes == 0
    peer.stalled.set()
    await settled(lambda: peer.sent and peer.sent[-1]["type"] == "websocket.close")
    assert peer.texts() == [] and peer.sent[-1]["code"] == 1013
