"""A lean WebSocket client for the benchmarks: an asyncio Protocol that frames by hand and never copies twice.

The load generator shares one core with nothing but itself, and it must stay far from that core's limit while the
server under test saturates the other one, or the benchmark measures the client. A full client library (the
`websockets` asyncio client: futures, a frame queue, UTF-8 checks per message) costs several times more per
received frame than this: here a received text frame is one header parse and one `bytes` slice handed to a
callback, and a sent frame is a header plus `apply_mask` from websockets' C speedups. Pings are answered (uvicorn
pings every 20 s), close frames end the connection, and `pause_reading()` makes a member that stops reading (the
stalled-reader scenario). Compression is not offered, so no server negotiates permessage-deflate: the benchmark
measures fan-out, not zlib.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import time
from collections.abc import Callable

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets ships its C speedups for this platform
    from websockets.utils import apply_mask

OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA
FrameHandler = Callable[[bytes], None]
#: Linux's SO_TIMESTAMPNS (= SCM_TIMESTAMPNS; asm-generic, x86 and arm), which the socket module does not export.
SO_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("@qq")


class ArrivalStampingSocket(socket.socket):
    """A TCP socket that learns from the kernel when the bytes of each read arrived (SO_TIMESTAMPNS), as
    `time.monotonic_ns()` in `arrived_ns`: the AI scenario stops the server's clock there, not when the load
    generator's process got around to reading them (its core is shared with the Gemini double).

    On loopback the kernel stamps a segment as the sender's `send()` passes it to the receiving side, so the stamp
    is when the server handed the bytes over. When one read returns several segments, the stamp is the last one's:
    never earlier than the arrival of any frame in that read (a late stamp only overstates the server's time).
    Linux turns stamping on a moment after the first socket of the machine asks for it (the switch is deferred to
    a work queue), so the first reads may carry no stamp: `arrived_ns` is then 0 and the sample has no wire time.
    asyncio's transport reads with `recv()`, so overriding it is all the transport needs.
    """

    arrived_ns = 0

    def enable_stamps(self) -> bool:
        """Ask the kernel for arrival stamps; False where it has none to give (then `arrived_ns` stays 0)."""
        try:
            self.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            return False
        return True

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data, ancillary, _, _ = self.recvmsg(bufsize, socket.CMSG_SPACE(_TIMESPEC.size), flags)
        self.arrived_ns = 0  # a read the kernel did not stamp has no arrival time, not the previous read's
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= _TIMESPEC.size:
                seconds, nanos = _TIMESPEC.unpack_from(value)
                # CLOCK_REALTIME to CLOCK_MONOTONIC, with the offset of this very moment (NTP may slew the former)
                offset = time.clock_gettime_ns(time.CLOCK_REALTIME) - time.monotonic_ns()
                self.arrived_ns = seconds * 1_000_000_000 + nanos - offset
        return data


def _ignore(payload: bytes) -> None:
    """The default frame handler."""


class BenchConnection(asyncio.Protocol):
    """One client connection; `on_text` gets each text frame's payload (servers here never fragment)."""

    def __init__(self, host: str, port: int, path: str, on_text: FrameHandler = _ignore) -> None:
        self.on_text = on_text
        self._request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self._buffer = bytearray()
        self._open = False
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.received_bytes = 0
        self.stamping: ArrivalStampingSocket | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        self._open = False
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("connection lost before the upgrade"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.received_bytes += len(data)
        buffer = self._buffer
        buffer += data
        if not self._open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buffer[:end]).split(b"\r\n", 1)[0]
            del buffer[: end + 4]
            if b" 101 " not in status + b" ":
                self.opened.set_exception(ConnectionError(f"upgrade refused: {status.decode(errors='replace')}"))
                self.abort()
                return
            self._open = True
            self.opened.set_result(None)
        self._parse(buffer)

    # -- frames ----------------------------------------------------------------------------------------------
    def _parse(self, buffer: bytearray) -> None:
        offset, size = 0, len(buffer)
        while size - offset >= 2:
            opcode, length = buffer[offset] & 0x0F, buffer[offset + 1] & 0x7F
            start = offset + 2
            if length == 126:
                if size - start < 2:
                    break
                (length,) = struct.unpack_from("!H", buffer, start)
                start += 2
            elif length == 127:
                if size - start < 8:
                    break
                (length,) = struct.unpack_from("!Q", buffer, start)
                start += 8
            end = start + length
            if end > size:
                break
            payload = bytes(buffer[start:end])
            offset = end
            if opcode == OP_TEXT:
                self.on_text(payload)
            elif opcode == OP_PING:
                self._send(OP_PONG, payload)
            elif opcode == OP_CLOSE:
                self._send(OP_CLOSE, payload[:2])
                self.abort()
                break
        del buffer[:offset]

    def _send(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        mask = os.urandom(4)
        self.transport.write(header + mask + apply_mask(payload, mask))

    def send_text(self, payload: bytes) -> None:
        """Send one text frame (UTF-8 bytes); silently nothing once the connection is closing."""
        self._send(OP_TEXT, payload)

    def pause_reading(self) -> None:
        """Stop reading: the kernel buffers fill, then the server's send side does (a stalled reader)."""
        if self.transport is not None:
            self.transport.pause_reading()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    @property
    def arrived_ns(self) -> int:
        """The kernel's arrival time of the bytes being handled (`ArrivalStampingSocket`); 0 without stamps."""
        return self.stamping.arrived_ns if self.stamping is not None else 0

    @property
    def is_open(self) -> bool:
        return self._open and self.transport is not None and not self.transport.is_closing()


async def open_connection(
    host: str,
    port: int,
    path: str,
    on_text: FrameHandler = _ignore,
    *,
    recv_buffer: int | None = None,
    local_host: str | None = None,
    within: float = 10.0,
    stamp_arrivals: bool = False,
) -> BenchConnection:
    """Connect and upgrade; `recv_buffer` shrinks SO_RCVBUF (before connect, so autotuning is off);
    `stamp_arrivals` gives the connection the kernel's arrival time of what it reads (`arrived_ns`).

    Raises:
        ConnectionError: refused, or the upgrade was not answered 101.
        TimeoutError: no upgrade within `within` seconds.
    """
    loop = asyncio.get_running_loop()
    kind = ArrivalStampingSocket if stamp_arrivals else socket.socket
    sock = kind(socket.AF_INET, socket.SOCK_STREAM)
    transport: asyncio.Transport | None = None
    try:
        stamping = sock if isinstance(sock, ArrivalStampingSocket) and sock.enable_stamps() else None
        if recv_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, recv_buffer)
        if local_host is not None:
            sock.bind((local_host, 0))
        sock.setblocking(False)
        async with asyncio.timeout(within):
            await loop.sock_connect(sock, (host, port))
            transport, protocol = await loop.create_connection(
                lambda: BenchConnection(host, port, path, on_text), sock=sock
            )
            protocol.stamping = stamping
            await protocol.opened
    except BaseException:
        if transport is not None:  # it owns the socket: closing only the socket would leave its fd registered
            transport.abort()
        else:
            sock.close()
        raise
    return protocol
