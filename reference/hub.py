"""The server-wide state of one app: settings, broker, AI client and budget, metrics, live connections, shutdown.

One `Hub` per `create_app()`; nothing is module-global, so tests run several servers in one process. The hub
knows a connection only as `Served` (what it needs for notices and the graceful stop), so connection.py, which
uses the hub for everything, imports it one way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from time import monotonic
from typing import Any, Protocol

from roomwire.reference.ai import AiClient, AiItem, AiRequest
from roomwire.reference.handshake import Admission
from roomwire.reference.metrics import Metrics
from roomwire.reference.outbox import AsgiSend, Flusher
from roomwire.reference.page import Page
from roomwire.reference.peers import AddressBook, TrustedProxies
from roomwire.reference.ratelimit import ceil_seconds
from roomwire.reference.rooms.broker import Broker
from roomwire.reference.settings import Settings
from roomwire.spec.codes import Capability, CloseCode, NoticeCode
from roomwire.spec.messages import ServerFrame, System
from roomwire.spec.texts import Lang

log = logging.getLogger(__name__)


class Served(Protocol):
    """A live connection as the hub sees it (`connection.Connection` is one)."""

    @property
    def room(self) -> str: ...

    @property
    def lang(self) -> Lang: ...

    @property
    def ai_task(self) -> asyncio.Task[None] | None: ...

    def push(self, frame: ServerFrame) -> None: ...

    async def run(self, receive: Any) -> None: ...

    async def end_for_restart(self, code: CloseCode = ...) -> None: ...


#: What serves one admitted upgrade: `Connection` or a subclass of it (`create_app(connection_class=...)`).
ConnectionClass = Callable[["Hub", Admission, dict[str, Any], AsgiSend], Served]


class Hub:
    """Everything the connections of one server share (see the module docstring)."""

    def __init__(self, settings: Settings, broker: Broker, connection_class: ConnectionClass) -> None:
        self.settings = settings
        self.limits = settings.limits
        self.broker = broker
        self.connection_class = connection_class
        self.metrics = Metrics(settings.ai_model, self.gauges)
        self.flusher = Flusher()
        self.budget = broker.ai_budget(settings.budget_rpm)  # LIMIT-005: across every instance it spans
        self.ai: AiClient = _NotStarted()
        self.page: Page | None = None  # the chat page at /, loaded when serving starts
        self.connections: set[Served] = set()
        self.serving = asyncio.Event()  # set once the app's resources exist (while_serving ran)
        self.shutting_down = False
        self.resume_enabled = settings.resume_history > 0
        self.capabilities: tuple[str, ...] = (Capability.PING.value,) + (
            (Capability.RESUME.value,) if self.resume_enabled else ()
        )
        self.proxies = TrustedProxies(settings.trusted_proxies)  # SEC-007
        self.addresses = AddressBook(
            max_connections=0 if settings.no_limits else settings.max_connections_per_address,
            join_burst=self.limits.join_burst, join_rate_per_min=self.limits.join_rate_per_min,
            exempt=settings.address_limit_exempt,
        )  # fmt: skip
        self._empty: asyncio.Event | None = None
        self._shutdown: asyncio.Task[None] | None = None
        broker.on_state_change(self._broker_state)

    @property
    def started(self) -> bool:
        """The app's resources exist (`serving` is set)."""
        return self.serving.is_set()

    # --- connections ------------------------------------------------------------------------------------------

    def take_address(self, address: str) -> bool:
        """LIMIT-006: count a connection from `address`; False when that address is at its limit."""
        return self.addresses.take_connection(address)

    def release_address(self, address: str) -> None:
        self.addresses.release_connection(address)

    def take_join(self, address: str, room: str) -> int:
        """LIMIT-008: 0 when `address` may join `room` now (counted), else the whole seconds until it may."""
        wait = self.addresses.take_join(address, room, monotonic())
        return ceil_seconds(wait) if wait > 0 else 0

    def register(self, connection: Served) -> None:
        self.connections.add(connection)
        if self._empty is not None:
            self._empty.clear()

    def unregister(self, connection: Served) -> None:
        self.connections.discard(connection)
        if not self.connections and self._empty is not None:
            self._empty.set()

    def gauges(self) -> dict[str, float]:
        rooms, _ = self.broker.stats()
        return {"connections": len(self.connections), "rooms": rooms}

    def health(self) -> dict[str, Any]:
        rooms, members = self.broker.stats()
        healthy = self.broker.healthy and not self.shutting_down
        return {
            "status": "ok" if healthy else ("stopping" if self.shutting_down else "degraded"),
            "connections": len(self.connections),
            "rooms": rooms,
            "members": members,
            "broker": self.broker.state,
        }

    def _broker_state(self, healthy: bool) -> None:
        code = NoticeCode.RESTORED if healthy else NoticeCode.DEGRADED
        log.warning("broker %s", "restored" if healthy else "degraded")
        for connection in list(self.connections):
            connection.push(System.notice(code, lang=connection.lang))

    # --- shutdown ---------------------------------------------------------------------------------------------

    def begin_shutdown(self, code: CloseCode = CloseCode.SERVICE_RESTART) -> asyncio.Task[None]:
        """Start the graceful stop (idempotent); new upgrades are refused from now on."""
        if self._shutdown is None:
            self.shutting_down = True
            self._shutdown = asyncio.get_running_loop().create_task(self._drain(code))
        return self._shutdown

    async def _drain(self, code: CloseCode) -> None:
        """RECON-002: let answers finish for the grace period, end the rest with ai_done, notice, close 1012."""
        answers = [task for c in self.connections if (task := c.ai_task) is not None]
        log.info("stopping: %d connections, %d AI answers in flight", len(self.connections), len(answers))
        if answers:
            await asyncio.wait(answers, timeout=self.settings.shutdown_grace_s)
        connections = list(self.connections)
        await asyncio.gather(*(c.end_for_restart(code) for c in connections), return_exceptions=True)

        self._empty = asyncio.Event()
        if not self.connections:
            self._empty.set()
        try:
            await asyncio.wait_for(self._empty.wait(), self.settings.close_timeout_s + 1.0)
        except TimeoutError:
            log.warning("%d connections did not close in time", len(self.connections))


class _NotStarted:
    """The AI client before the app has started (a request then is a bug, reported as an upstream error)."""

    async def stream(self, request: AiRequest) -> AsyncGenerator[AiItem, None]:  # pragma: no cover - a bug
        nothing: list[AiItem] = []
        for item in nothing:
            yield item
        raise RuntimeError("the AI client is not started")

    async def aclose(self) -> None:
        """Nothing to close."""
