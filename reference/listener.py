"""The TCP side of the server, before HTTP: the connections one address may hold that are not (yet) WebSockets
(LIMIT-009), the connections the process may hold at all, and asyncio's accept errors said once, not per socket.

Hypercorn serves each accepted TCP connection with a `TCPServer`; `install()` puts `GuardedTCPServer` in its
place, which asks the `Gate` on the server's `RoomwireConfig` (`roomwire_gate`) before reading a byte. A
connection over its address's limit, or over the process's, is reset at once. The WebSocket extension tells the
connection when it has been upgraded (`hypercorn_ext`, at accept), which takes it out of its address's pending
count: from then on LIMIT-006 counts it. Hypercorn's `keep_alive_timeout` (how long a connection may wait
without a complete request) is the request deadline, `request_timeout_s`.

File descriptors: `raise_fd_limit()` lifts the soft RLIMIT_NOFILE to the hard one, and the gate keeps the open
connections `FD_RESERVE` below it, so `accept()` never fails for want of one. Should it fail anyway (another
process, a lower limit), asyncio logs a traceback per connection waiting in the backlog, up to the backlog per
loop iteration: issue 13 saw ~10,000 a second. `quiet_accept_errors` makes that one line per 10 seconds.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import Counter
from collections.abc import Callable
from time import monotonic
from typing import Any

from hypercorn.asyncio import run as hypercorn_run
from hypercorn.asyncio import tcp_server
from hypercorn.asyncio.task_group import TaskGroup
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.typing import ConnectionState

log = logging.getLogger(__name__)

#: File descriptors kept free of client connections: logs, the page, Redis, upstream, the listening sockets.
FD_RESERVE = 128
#: Seconds between two warnings that accept() ran out of file descriptors (each says how many it folds).
ACCEPT_WARNING_EVERY_S = 10.0
_ACCEPT_MESSAGE = "socket.accept() out of system resource"


class Gate:
    """Counts TCP connections: all of them (`max_open`) and, per address, those not yet WebSockets (LIMIT-009)."""

    def __init__(self, *, per_address: int, max_open: int, exempt: Callable[[str], bool]) -> None:
        self.per_address = per_address  # 0: no limit
        self.max_open = max_open  # 0: no limit
        self._exempt = exempt
        self._pending: Counter[str] = Counter()
        self.open = 0
        self.refused = 0

    def enter(self, address: str) -> bool:
        """Count a new connection from `address` as pending; False (nothing counted) when it is one too many."""
        over_address = self.per_address and self._pending[address] >= self.per_address and not self._exempt(address)
        if over_address or (self.max_open and self.open >= self.max_open):
            self.refused += 1
            return False
        self.open += 1
        self._pending[address] += 1
        return True

    def upgraded(self, address: str) -> None:
        """The connection became a WebSocket: no longer pending (LIMIT-006 counts it now)."""
        self._done_pending(address)

    def leave(self, address: str, pending: bool) -> None:
        self.open -= 1
        if pending:
            self._done_pending(address)

    def _done_pending(self, address: str) -> None:
        self._pending[address] -= 1
        if self._pending[address] <= 0:
            del self._pending[address]

    def pending(self, address: str) -> int:
        return self._pending[address]


class GuardedTCPServer(TCPServer):
    """Hypercorn's `TCPServer`, asking the config's `Gate` first (see the module docstring)."""

    roomwire_pending = False

    async def run(self) -> None:
        gate: Gate | None = getattr(self.config, "roomwire_gate", None)
        if gate is None:
            return await super().run()
        peer = self.writer.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        if not gate.enter(address):
            self.writer.transport.abort()  # a reset: nothing read, nothing to linger in TIME_WAIT
            return None
        self._roomwire_gate, self._roomwire_address, self.roomwire_pending = gate, address, True
        try:
            await self._serve(peer)
        finally:
            gate.leave(address, self.roomwire_pending)

    async def _serve(self, peer: object) -> None:
        """Hypercorn's `TCPServer.run` (0.17, 0.18), with the addresses the transport already holds: Hypercorn asks
        the socket again (two system calls, two enum conversions: ~1% of a reconnect storm's CPU). Plain TLS-less
        TCP only; anything else is Hypercorn's own."""
        sockname = self.writer.get_extra_info("sockname")
        if not isinstance(peer, tuple) or not isinstance(sockname, tuple) or self.writer.get_extra_info("ssl_object"):
            return await super().run()
        try:
            async with TaskGroup(self.loop) as task_group:
                self._task_group = task_group
                self.protocol = getattr(tcp_server, "ProtocolWrapper")(  # noqa: B009 - the installed one, not exported
                    self.app, self.config, self.context, task_group, ConnectionState(self.state), False,
                    (peer[0], peer[1]), (sockname[0], sockname[1]), self.protocol_send, "http/1.1",
                )  # fmt: skip
                await self.protocol.initiate()
                await self.idle_task.restart(task_group, self._idle_timeout)
                await self._read_data()
        except OSError:
            pass
        finally:
            await self._close()

    def roomwire_upgraded(self) -> None:
        """Called by the WebSocket extension when this connection's upgrade is accepted."""
        if self.roomwire_pending:
            self.roomwire_pending = False
            self._roomwire_gate.upgraded(self._roomwire_address)


def install() -> None:
    """Make Hypercorn's asyncio worker serve connections with `GuardedTCPServer` (idempotent)."""
    setattr(hypercorn_run, "TCPServer", GuardedTCPServer)  # noqa: B010 - imported by name there; we replace it


def raise_fd_limit() -> int:
    """Lift the soft limit of open files to the hard one; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):  # pragma: no cover - a platform that refuses: keep what we have
            pass
    return soft


def max_open_connections(fd_limit: int) -> int:
    """Connections the gate admits under `fd_limit` open files (never fewer than 64)."""
    return max(64, fd_limit - FD_RESERVE)


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """Fold asyncio's 'socket.accept() out of system resource' reports into one warning per 10 s, with a count;
    every other report goes where it went before. Returns what puts the previous handler back."""
    previous = loop.get_exception_handler()
    folded = {"count": 0, "last": -ACCEPT_WARNING_EVERY_S}

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != _ACCEPT_MESSAGE:
            if previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        folded["count"] += 1
        now = monotonic()
        if now - folded["last"] >= ACCEPT_WARNING_EVERY_S:
            error = context.get("exception")
            log.warning(
                "accept() failed %d time(s) in the last %.0f s (%s): out of file descriptors?",
                folded["count"], ACCEPT_WARNING_EVERY_S, getattr(error, "strerror", None) or type(error).__name__,
            )  # fmt: skip
            folded["count"], folded["last"] = 0, now

    loop.set_exception_handler(handler)
    return lambda: loop.set_exception_handler(previous)
