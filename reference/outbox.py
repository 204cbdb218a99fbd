"""The send side of one connection: a bounded queue that never makes a broadcaster wait (FLOW-001, FLOW-002).

`Outbox.push()` is synchronous and O(1): it appends a shared `WireFrame` and marks the outbox dirty. Once per
event-loop iteration the `Flusher` visits every dirty outbox and writes everything it holds in *one* write,
straight into the socket's transport when the transport is not congested (the fast wire of `hypercorn_ext`).
Otherwise a writer task, started only then and gone when the queue is empty, sends batches with an awaited
drain. A reader that stops reading therefore only grows its own queue; once queued plus in-flight bytes pass
`send_queue_bytes`, `on_overflow` fires and the connection is dropped with 1013 (FLOW-002).

    broadcaster ── push() ──► deque ──(next loop iteration)── Flusher ──► transport.write   (not congested)
                                                                       └─► writer task ──► send_frames + drain
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from roomwire.reference.fast_upgrade import HeldResponse
from roomwire.reference.frames import WireFrame
from roomwire.reference.hypercorn_ext import SEND_FRAMES

log = logging.getLogger(__name__)

HIGH_WATER = 64 * 1024  # asyncio's default transport high-water mark: above it, the writer task waits for drain
MAX_BATCH = 256 * 1024  # bytes per write of the writer task

AsgiSend = Callable[[dict[str, Any]], Awaitable[None]]


class Wire:
    """Plain ASGI: one `websocket.send` per frame (works under any ASGI server)."""

    transport: asyncio.WriteTransport | None = None

    def __init__(self, send: AsgiSend) -> None:
        self._send = send

    def writable(self) -> bool:
        """Can bytes be written now, synchronously? (only the fast wire can)"""
        return False

    def write(self, data: bytes) -> None:  # pragma: no cover - never called when writable() is False
        raise NotImplementedError

    async def send(self, frames: list[WireFrame]) -> None:
        for frame in frames:
            await self._send({"type": "websocket.send", "text": frame.text})

    async def close(self, code: int, reason: str) -> None:
        await self._send({"type": "websocket.close", "code": code, "reason": reason})


class FastWire(Wire):
    """The `roomwire.ws` extension: pre-framed bytes, written directly while the transport keeps up."""

    def __init__(
        self, send: AsgiSend, transport: asyncio.WriteTransport | None, is_open: Callable[[], bool],
        held: HeldResponse | None = None,
    ) -> None:  # fmt: skip
        super().__init__(send)
        self.transport = transport
        self._is_open = is_open  # no frame may follow a close frame the server already sent
        self._held = held  # the 101, when it waits for the first frames (fast_upgrade.HeldResponse)

    def writable(self) -> bool:
        transport = self.transport
        return (
            transport is not None
            and transport.get_write_buffer_size() < HIGH_WATER
            and not transport.is_closing()
            and self._is_open()
        )

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        if self._held is not None:
            data = self._held.take() + data  # in one write with the 101 (empty when the 101 went out already)
            self._held = None
        self.transport.write(data)

    async def send(self, frames: list[WireFrame]) -> None:
        data = frames[0].data if len(frames) == 1 else b"".join([frame.data for frame in frames])
        await self._send({"type": SEND_FRAMES, "data": data})


class Flusher:
    """Flushes every dirty outbox once per event-loop iteration (one write per connection per iteration)."""

    def __init__(self) -> None:
        self._dirty: list[Outbox] = []

    def mark(self, outbox: Outbox) -> None:
        if not self._dirty:
            asyncio.get_running_loop().call_soon(self._run)
        self._dirty.append(outbox)

    def _run(self) -> None:
        dirty, self._dirty = self._dirty, []
        for outbox in dirty:
            try:
                outbox.flush()
            except Exception:  # one broken socket must not stop the others' flush
                log.exception("flushing one connection failed")


class Outbox:
    """A bounded queue of frames for one connection (see the module docstring)."""

    __slots__ = (
        "wire",
        "_limit",
        "_flusher",
        "_on_overflow",
        "_counts",
        "_queue",
        "_bytes",
        "_dirty",
        "_writer",
        "_closing",
        "_closer",
    )

    def __init__(
        self,
        wire: Wire,
        *,
        limit: int,
        flusher: Flusher,
        on_overflow: Callable[[], None],
        counts: MutableMapping[str, int],
    ) -> None:
        self.wire = wire
        self._limit = limit
        self._flusher = flusher
        self._on_overflow = on_overflow
        self._counts = counts  # frames out by type (metrics)
        self._queue: deque[WireFrame] = deque()
        self._bytes = 0  # queued plus in flight (FLOW-002)
        self._dirty = False
        self._writer: asyncio.Task[None] | None = None
        self._closing: tuple[int, str] | None = None
        self._closer: asyncio.Task[None] | None = None  # held: the loop keeps only weak references to tasks

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    @property
    def closing(self) -> bool:
        return self._closing is not None

    def push(self, frame: WireFrame) -> None:
        """Queue `frame` (never blocks); dropped silently once the outbox is closing."""
        if self._closing is not None:
            return
        self._queue.append(frame)
        self._bytes += frame.size
        try:
            self._counts[frame.kind] += 1  # a plain dict: a `Counter` (a subclass) costs 2.5× per increment
        except KeyError:
            self._counts[frame.kind] = 1
        if self._bytes > self._limit:  # FLOW-002
            self._on_overflow()
        elif not self._dirty and self._writer is None:
            self._dirty = True
            self._flusher.mark(self)

    def flush(self) -> None:
        """Write what is queued: directly when the wire is writable, else through the writer task."""
        self._dirty = False
        if self._writer is not None or self._closing is not None or not self._queue:
            return
        if self.wire.writable():
            queue = self._queue
            data = queue[0].data if len(queue) == 1 else b"".join([frame.data for frame in queue])
            queue.clear()
            self._bytes = 0
            self.wire.write(data)
        else:
            self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    async def _write_loop(self) -> None:
        try:
            await self._send_queued()
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket is gone; the read side will see the disconnect
            log.debug("sending failed", exc_info=True)
            self._queue.clear()
            self._bytes = 0
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None

    async def _send_queued(self) -> None:
        queue = self._queue
        while queue:
            batch: list[WireFrame] = []
            size = 0
            while queue and (not batch or size + queue[0].size <= MAX_BATCH):
                frame = queue.popleft()
                batch.append(frame)
                size += frame.size
            await self.wire.send(batch)
            self._bytes -= size

    def close(self, code: int, reason: str, *, discard: bool = False) -> None:
        """Close after what is queued (or, with `discard`, at once, dropping it); later pushes are dropped."""
        if self._closing is not None:
            return
        self._closing = (code, reason)
        writer = self._writer
        if discard:
            self._queue.clear()
            self._bytes = 0
            if writer is not None:  # probably stuck in a drain: the close frame goes instead
                writer.cancel()
        self._closer = asyncio.get_running_loop().create_task(self._close(writer, code, reason))

    async def _close(self, writer: asyncio.Task[None] | None, code: int, reason: str) -> None:
        try:
            if writer is not None:
                await asyncio.wait([writer])  # queued frames go first (or the writer was cancelled)
            await self._send_queued()
            await self.wire.close(code, reason)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.debug("closing failed", exc_info=True)
