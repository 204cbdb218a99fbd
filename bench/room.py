"""Rooms of benchmark clients: stamped chat frames, delivery counting, and the closed and open send loops.

Every benchmark `user_msg` carries `bench:<sender>:<stamp_ns>:` at the start of its `content`. A server passes
`content` through unchanged (the seed does, and the spec's CHAT-002 demands it), so a receiver finds the marker
with one `bytes.find` whatever else the server adds (`seq`, `ts`, field order) and needs no JSON parse. The stamp
is the time the frame was *due* (open loop) or sent (closed loop) on this process's monotonic clock, so a
receiver's latency is `now - stamp` with no clock skew. Frames without the marker (welcome, join, leave) are
ignored.

Closed loop (capacity): each sender keeps `inflight` frames outstanding and sends the next one when its own
broadcast comes back, so the server is never idle and never flooded. Open loop (latency): one ticker sends frame
`j` at `t0 + j / rate` from sender `j % senders`, stamped with that due time, so a slow server cannot slow the
offered load down (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from .wsclient import BenchConnection, FrameHandler, open_connection

MARK = b"bench:"
#: `bench:` + 5-digit sender + `:` + 20-digit stamp + `:`.
_SENDER = slice(6, 11)
_STAMP = slice(12, 32)
CONNECT_BATCH = 100


def chat_frame(sender: int, stamp_ns: int, pad: str) -> bytes:
    """The wire bytes of one stamped `user_msg` (the seed requires `nickname` in every frame)."""
    return b'{"type":"user_msg","nickname":"b%05d","content":"bench:%05d:%020d:%s"}' % (
        sender,
        sender,
        stamp_ns,
        pad.encode(),
    )


@dataclass
class Tally:
    """What the receivers saw: deliveries of stamped frames, and latencies while `recording`."""

    deliveries: int = 0
    recording: bool = False
    window: tuple[int, int] = (0, 0)
    latencies_ns: list[int] = field(default_factory=list)


@dataclass
class Room:
    """Clients in one room; `senders` are the first members, `stalled` ones joined last and never read.

    Deliveries count for the first `counted` members (all when None).
    """

    host: str
    port: int
    name: str
    size: int
    senders: int
    pad: str = "x" * 64
    inflight: int = 16
    stalled: int = 0
    counted: int | None = None
    tally: Tally = field(default_factory=Tally)
    members: list[BenchConnection] = field(default_factory=list)
    running: bool = False
    _outstanding: list[int] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"/api/v1/ws/chat/{self.name}?nickname=b{self.name}"

    async def join(self) -> None:
        """Connect every member in order (readers first, then the stalled ones with a tiny receive buffer)."""
        readers = self.size - self.stalled
        self._outstanding = [0] * self.senders
        for start in range(0, readers, CONNECT_BATCH):
            batch = range(start, min(readers, start + CONNECT_BATCH))
            self.members += await asyncio.gather(*(self._connect(i) for i in batch))
        for _ in range(self.stalled):
            member = await open_connection(self.host, self.port, self.path, recv_buffer=4096)
            member.pause_reading()
            self.members.append(member)

    async def _connect(self, index: int) -> BenchConnection:
        return await open_connection(self.host, self.port, self.path, self._receiver(index))

    def _receiver(self, index: int) -> FrameHandler:
        tally, outstanding, is_sender = self.tally, self._outstanding, index < self.senders
        counts = self.counted is None or index < self.counted

        def on_text(payload: bytes) -> None:
            at = payload.find(MARK)
            if at < 0:
                return
            tally.deliveries += counts
            if tally.recording:
                stamp = int(payload[at + _STAMP.start : at + _STAMP.stop])
                if tally.window[0] <= stamp < tally.window[1]:
                    tally.latencies_ns.append(time.monotonic_ns() - stamp)
            if is_sender and int(payload[at + _SENDER.start : at + _SENDER.stop]) == index:
                outstanding[index] -= 1
                if self.running and outstanding[index] < self.inflight:
                    self.send(index)

        return on_text

    def send(self, sender: int, stamp_ns: int | None = None) -> None:
        self._outstanding[sender] += 1
        self.members[sender].send_text(chat_frame(sender, stamp_ns or time.monotonic_ns(), self.pad))

    def start_closed_loop(self) -> None:
        """Each sender fills its window; echoes keep it full until `running` is cleared."""
        self.running = True
        for sender in range(self.senders):
            for _ in range(self.inflight):
                self.send(sender)

    async def open_loop(self, rate: float, seconds: float, record_after: float) -> None:
        """Send `rate` frames/s for `seconds`, round-robin over the senders; record latencies after `record_after`."""
        start_ns = time.monotonic_ns()
        period_ns = int(1e9 / rate)
        self.tally.window = (start_ns + int(record_after * 1e9), start_ns + int(seconds * 1e9))
        self.tally.recording = True
        sent = 0
        while (due := start_ns + sent * period_ns) < self.tally.window[1]:
            now = time.monotonic_ns()
            if due > now:
                await asyncio.sleep((due - now) / 1e9)
                continue
            self.members[sent % self.senders].send_text(chat_frame(sent % self.senders, due, self.pad))
            sent += 1

    def close(self) -> None:
        self.running = False
        for member in self.members:
            member.abort()
