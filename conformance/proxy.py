"""A TCP fault proxy between the suite's clients and the target, to make the network misbehave on demand.

Each client that asks for it connects to the proxy instead of the target; the proxy opens its own connection
to the target and forwards bytes both ways (TLS passes through untouched: the proxy never looks inside).
A check then breaks one connection in one of the ways real networks break:

    drop(rst=False)   the target sees the TCP connection end (FIN) without a WebSocket close frame (PRES-003)
    drop(rst=True)    ... or reset (RST), as when a NAT forgets it or a phone changes networks
    blackhole()       nothing passes either way and nothing is closed: a half-open connection (PRES-004)
    stall_reading()   the proxy stops reading what the target sends: a client that stopped reading (FLOW-001)

Connections are found by the client's local port, which is the peer port the proxy sees. A proxy made with
`receive_buffer` sets that SO_RCVBUF on its sockets to the target before connecting, so that a stalled
reader fills the target's buffers after kilobytes rather than the megabytes Linux autotunes to.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import cast


class _Pipe(asyncio.Protocol):
    """One side of a proxied connection; hands what it reads to the connection."""

    def __init__(self, connection: ProxiedConnection, side: str) -> None:
        self.connection = connection
        self.side = side
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.connection.attach(self)

    def data_received(self, data: bytes) -> None:
        self.connection.forward(self.side, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.connection.lost(self.side)

    def pause_writing(self) -> None:
        self.connection.backpressure(self.side, paused=True)

    def resume_writing(self) -> None:
        self.connection.backpressure(self.side, paused=False)


class ProxiedConnection:
    """One client connection through the proxy and its fault state."""

    def __init__(self, client_port: int) -> None:
        self.client_port = client_port
        self.pipes: dict[str, _Pipe] = {}
        self.blackholed = False
        self.reading_stalled = False
        self.dropped = False
        self.bytes_from_target = 0

    def attach(self, pipe: _Pipe) -> None:
        self.pipes[pipe.side] = pipe

    def _transport(self, side: str) -> asyncio.Transport | None:
        pipe = self.pipes.get(side)
        return pipe.transport if pipe else None

    def forward(self, side: str, data: bytes) -> None:
        if side == "target":
            self.bytes_from_target += len(data)
        if self.blackholed or self.dropped:
            return
        other = self._transport("target" if side == "client" else "client")
        if other is not None and not other.is_closing():
            other.write(data)

    def backpressure(self, side: str, *, paused: bool) -> None:
        """When one side cannot take more, stop reading the other (never buffer without bound)."""
        source = self._transport("target" if side == "client" else "client")
        if source is None or source.is_closing():
            return
        if paused:
            source.pause_reading()
        elif not (self.reading_stalled and side == "client"):
            source.resume_reading()

    def lost(self, side: str) -> None:
        if self.blackholed:
            return  # half-open: the other side must not learn anything
        other = self._transport("target" if side == "client" else "client")
        if other is not None and not other.is_closing():
            other.close()

    def drop(self, *, rst: bool = False) -> None:
        """End the target's TCP connection without a close frame (FIN, or RST with `rst`), and the client's."""
        self.dropped = True
        target = self._transport("target")
        if target is not None:
            if rst:
                sock = target.get_extra_info("socket")
                if sock is not None and not target.is_closing():
                    with contextlib.suppress(OSError):  # already closed by the target: nothing to reset
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                target.abort()
            else:
                target.close()
        client = self._transport("client")
        if client is not None:
            client.abort()

    def blackhole(self) -> None:
        """Forward nothing more in either direction and close nothing: a half-open connection."""
        self.blackholed = True

    def stall_reading(self) -> None:
        """Stop reading from the target, so its data piles up in its buffers (a client that stopped reading)."""
        self.reading_stalled = True
        target = self._transport("target")
        if target is not None and not target.is_closing():
            target.pause_reading()

    def resume_reading(self) -> None:
        """Read again, with a large buffer, so that a backlog of megabytes drains in well under a second."""
        self.reading_stalled = False
        target = self._transport("target")
        if target is not None and not target.is_closing():
            sock = target.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
            target.resume_reading()

    def close(self) -> None:
        for pipe in self.pipes.values():
            if pipe.transport is not None and not pipe.transport.is_closing():
                pipe.transport.abort()


class FaultProxy:
    """Listens on 127.0.0.1:<free port> and proxies to `host:port`; see the module docstring."""

    def __init__(self, host: str, port: int, *, receive_buffer: int | None = None) -> None:
        self.host = host
        self.port = port
        self.receive_buffer = receive_buffer
        self.connections: dict[int, ProxiedConnection] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.listen_port = 0

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._accept, "127.0.0.1", 0)
        self.listen_port = int(self._server.sockets[0].getsockname()[1])
        return self.listen_port

    def _accept(self) -> asyncio.Protocol:
        return _ClientSide(self)

    def connection(self, client_port: int | None) -> ProxiedConnection | None:
        return self.connections.get(client_port) if client_port is not None else None

    def opened(self, pipe: _Pipe, transport: asyncio.Transport) -> None:
        peer = transport.get_extra_info("peername")
        connection = ProxiedConnection(int(peer[1]) if peer else 0)
        pipe.connection = connection
        connection.attach(pipe)
        self.connections[connection.client_port] = connection
        transport.pause_reading()
        task = asyncio.create_task(self._connect_target(connection, transport))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect_target(self, connection: ProxiedConnection, client: asyncio.Transport) -> None:
        loop = asyncio.get_running_loop()
        try:
            sock = await self._target_socket()
            await loop.create_connection(lambda: _Pipe(connection, "target"), sock=sock)
        except OSError:
            client.abort()
            return
        if not client.is_closing():
            client.resume_reading()

    async def _target_socket(self) -> socket.socket:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        if self.receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
        try:
            await loop.sock_connect(sock, address)
        except OSError:
            sock.close()
            raise
        return sock

    async def aclose(self) -> None:
        for connection in self.connections.values():
            connection.close()
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)


class _ClientSide(_Pipe):
    """The accepted side: registers the connection with the proxy before anything is read."""

    def __init__(self, proxy: FaultProxy) -> None:
        super().__init__(ProxiedConnection(0), "client")
        self.proxy = proxy

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.proxy.opened(self, self.transport)
