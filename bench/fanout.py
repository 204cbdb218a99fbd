"""Chat fan-out scenarios: capacity, latency at a fixed offered load, and one stalled reader.

Each function gets a freshly started server and returns flat `{metric: number}`. A measurement window follows a
warm-up (connections made, joins broadcast, the first frames through), and CPU is read from the server process
(psutil) and from this, the load generator's, process (`time.process_time`) over exactly that window: server
CPU seconds per delivery is the efficiency figure, and load generator CPU share proves the generator was not
the limit (it stays well below one core).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from .room import Room
from .servers import HOST, Server


@dataclass(frozen=True)
class Timing:
    """Seconds of warm-up and of measurement; `--quick` shrinks both."""

    warmup: float
    measure: float
    stall_fill: float


FULL = Timing(warmup=1.0, measure=4.0, stall_fill=15.0)
QUICK = Timing(warmup=0.3, measure=1.0, stall_fill=5.0)


class Window:
    """Deliveries, wall time and CPU of server and load generator between `__init__` and `close()`."""

    def __init__(self, server: Server, room: Room) -> None:
        self.server, self.room = server, room
        self.deliveries0 = room.tally.deliveries
        self.wall0, self.cpu0, self.gen0 = time.monotonic(), server.cpu_seconds(), time.process_time()

    def close(self) -> dict[str, float]:
        wall = time.monotonic() - self.wall0
        deliveries = self.room.tally.deliveries - self.deliveries0
        cpu = self.server.cpu_seconds() - self.cpu0
        return {
            "deliveries_per_s": deliveries / wall,
            "server_cpu_us_per_delivery": cpu / deliveries * 1e6 if deliveries else float("nan"),
            "server_cpu_share": cpu / wall,
            "loadgen_cpu_share": (time.process_time() - self.gen0) / wall,
        }


async def capacity(server: Server, timing: Timing, *, room_size: int, senders: int = 10) -> dict[str, float]:
    """Deliveries/s with `senders` members keeping 16 frames each in flight, in a room of `room_size`."""
    room = Room(HOST, server.port, f"cap{room_size}", size=room_size, senders=senders)
    try:
        await room.join()
        room.start_closed_loop()
        await asyncio.sleep(timing.warmup)
        window = Window(server, room)
        await asyncio.sleep(timing.measure)
        return window.close()
    finally:
        room.close()


async def latency(server: Server, timing: Timing, *, deliveries_per_s: float = 5000.0) -> dict[str, float]:
    """Fan-out latency percentiles at a fixed offered load: 10 senders in a room of 10, open loop."""
    room = Room(HOST, server.port, "lat10", size=10, senders=10)
    try:
        await room.join()
        seconds = timing.warmup + timing.measure
        window = Window(server, room)
        await room.open_loop(deliveries_per_s / room.size, seconds, record_after=timing.warmup)
        await asyncio.sleep(0.5)  # stragglers; later ones count as lost
        result = window.close()
        samples = sorted(room.tally.latencies_ns)
        expected = deliveries_per_s * timing.measure
        result |= {f"latency_{name}_ms": percentile(samples, q) / 1e6 for name, q in PERCENTILES}
        result["delivered_fraction"] = len(samples) / expected
        return result
    finally:
        room.close()


PERCENTILES = (("p50", 0.50), ("p99", 0.99), ("max", 1.0))


def percentile(samples: list[int], q: float) -> float:
    if not samples:
        return float("nan")
    return float(samples[min(len(samples) - 1, int(q * len(samples)))])


async def stalled_reader(server: Server, timing: Timing, *, stalled: bool, name: str = "stall10") -> dict[str, float]:
    """Deliveries/s to 9 reading members of a room of 10 whose 10th member never reads (or, as control, does).

    Frames carry ~2 KB (just under the spec's 2,000-character `content` limit, which `--no-limits` keeps) so that
    megabytes pile up for the stalled member quickly. The fill phase lasts until `STALL_FILL_BYTES` have been
    broadcast (more than the ~4 MB after which the seed's room stops, issue 4 failure 6) or until deliveries stop,
    at most `timing.stall_fill` seconds; then the window is measured. The control has the same 10 members, all
    reading, and runs the same fill; only the first 9 members are counted in both.
    """
    room = Room(HOST, server.port, name, size=10, senders=9, pad="s" * 1900, stalled=int(stalled), counted=9)
    try:
        await room.join()
        room.start_closed_loop()
        await _fill(room, timing.stall_fill)
        before, started = room.tally.deliveries, time.monotonic()
        await asyncio.sleep(timing.measure)
        return {
            "deliveries_per_s_to_9": (room.tally.deliveries - before) / (time.monotonic() - started),
            "fill_frames": before / 9,
        }
    finally:
        room.close()


STALL_FILL_BYTES = 8 * 2**20


async def _fill(room: Room, at_most: float) -> None:
    """Until each member has been sent STALL_FILL_BYTES, or deliveries stall for half a second, or `at_most` s."""
    frames_needed = STALL_FILL_BYTES // len(room.pad)
    deadline = time.monotonic() + at_most
    last, last_change = room.tally.deliveries, time.monotonic()
    while room.tally.deliveries / 9 < frames_needed and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        if room.tally.deliveries != last:
            last, last_change = room.tally.deliveries, time.monotonic()
        elif time.monotonic() - last_change > 0.5:
            return
