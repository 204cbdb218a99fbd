"""One load-test WebSocket connection on gevent: `websockets.sync.client` for the bytes, `Meter` for the meaning.

Why `websockets.sync` works under Locust: it is pure Python over `socket`, `selectors`, `threading` and
`queue`, and Locust calls `gevent.monkey.patch_all()` before any of that is used. After patching, the
connection's background "thread" (which reads the socket) is a greenlet, its locks and queue are gevent's,
and every blocking call (`recv`, `send`, connect) yields to the hub instead of blocking the process. One
process therefore holds hundreds of connections, each with two cheap greenlets: websockets' socket reader and
our `_read` loop below. `tests/loadtest/test_client.py` proves users are not serialised.

The client gets Locust's `events.request` injected (STYLE: no Locust import here) and fires every `Sample` the
meter produces as one request event of type `WS`. Durations use `time.perf_counter()`; fan-out stamps use
`time.time()` because the receiving member may run in another Locust worker.
"""

from __future__ import annotations

import collections
import contextlib
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import gevent
import gevent.event
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from roomwire.loadtest.meter import Ask, Meter, schema_failures
from roomwire.loadtest.metrics import CONNECT, REQUEST_TYPE, AiOutcome, ConnectFailed, ConnectionLost, Sample
from roomwire.spec.codes import SystemEvent
from roomwire.spec.messages import HistoryItem, System
from roomwire.spec.validate import validate_server_payload

#: How often a quiet connection checks its deadlines (a blocked recv wakes up this often).
SWEEP_INTERVAL_S = 0.5
#: Largest frame accepted from the server: SPEC §10's upper bound for max_frame_bytes.
MAX_FRAME_BYTES = 1_048_576


class SpotChecker:
    """Schema-validates sampled frames when this process has nothing else to do (`gevent.idle`), so that the
    ~0.4-2 ms jsonschema spends on one frame never sits between a frame's arrival and the reading of its time.

    One per process. At most `capacity` frames wait; past that the oldest are skipped (and counted): a spot
    check is a sample, and a load generator too busy to be idle has bigger problems, which Locust's CPU warning
    reports.
    """

    def __init__(self, capacity: int = 256) -> None:
        self._waiting: collections.deque[tuple[str, Callable[[list[Sample]], Any]]] = collections.deque(maxlen=capacity)
        self._worker: Any = None
        self.checked = 0
        self.skipped = 0

    def submit(self, text: str, report: Callable[[list[Sample]], Any]) -> None:
        if len(self._waiting) == self._waiting.maxlen:
            self.skipped += 1
        self._waiting.append((text, report))
        if self._worker is None or self._worker.dead:
            self._worker = gevent.spawn(self._run)

    def _run(self) -> None:
        while self._waiting:
            gevent.idle()
            if not self._waiting:
                break
            text, report = self._waiting.popleft()
            verdict = validate_server_payload(text)
            self.checked += 1
            if not verdict.valid:
                report(schema_failures(verdict))


SPOT_CHECKS = SpotChecker()


class RequestEvent(Protocol):
    """The part of Locust's `events.request` hook the client uses."""

    def fire(self, **kwargs: Any) -> None: ...


class RoomwireClient:
    """One connection to one room; see the module docstring.

    Args:
        request_event: Locust's `environment.events.request` (anything with `fire(**kwargs)`).
        url: the full endpoint URL, `ws://host:port/api/v1/ws/chat/<room>?nickname=...`.
        tag: this client's part of every id it sends; unique per client within a test run.
        fanout_deadline_s: how long its own user_msg may take to come back before it counts as missing.
        ai_deadline_s: how long an ai_msg may wait for its ai_done before it counts as a hang.
        open_timeout_s: bound on TCP + WebSocket handshake + welcome.
        on_outcome: called with the outcome of every AI exchange (the ratelimit tally).
        validate_every: schema-validate one received frame in this many (roomwire.loadtest.sampled).
    """

    def __init__(
        self,
        request_event: RequestEvent,
        *,
        url: str,
        tag: str,
        fanout_deadline_s: float = 10.0,
        ai_deadline_s: float = 60.0,
        open_timeout_s: float = 10.0,
        on_outcome: Callable[[AiOutcome], Any] | None = None,
        validate_every: int = 1,
    ) -> None:
        self._event = request_event
        self.validate_every = validate_every
        self.url = url
        self.tag = tag
        self.fanout_deadline_s = fanout_deadline_s
        self.ai_deadline_s = ai_deadline_s
        self.open_timeout_s = open_timeout_s
        self._on_outcome = on_outcome
        self.meter: Meter | None = None
        self._ws: ClientConnection | None = None
        self._stack = contextlib.ExitStack()
        self._reader: gevent.Greenlet[Any, None] | None = None
        self._closing = False

    @property
    def connected(self) -> bool:
        return self._ws is not None

    @property
    def welcome(self) -> System | None:
        return self.meter.protocol.welcome if self.meter else None

    def fire(self, samples: Iterable[Sample]) -> None:
        for sample in samples:
            self._event.fire(
                request_type=REQUEST_TYPE,
                name=sample.name,
                response_time=sample.response_time,
                response_length=sample.length,
                exception=sample.failure,
                context={},
            )

    def _spot_check(self, text: str) -> None:
        SPOT_CHECKS.submit(text, self.fire)

    # --- connecting -------------------------------------------------------------------------------------------------

    def connect(self) -> bool:
        """Open the connection and wait for the welcome; fires `connect` either way. True when joined."""
        self._stack.close()  # what is left of a connection the server dropped
        started = time.perf_counter()
        meter = Meter(
            tag=self.tag,
            fanout_deadline_s=self.fanout_deadline_s,
            ai_deadline_s=self.ai_deadline_s,
            on_outcome=self._on_outcome,
            validate_every=self.validate_every,
            spot_check=self._spot_check,
        )
        stack = contextlib.ExitStack()
        try:
            ws = self._open(stack)
        except ConnectFailed as refused:
            self.fire([Sample(CONNECT, (time.perf_counter() - started) * 1000.0, refused)])
            return False
        no_welcome = self._await_welcome(ws, meter, started)
        elapsed = (time.perf_counter() - started) * 1000.0
        if no_welcome is not None:
            stack.close()
            self.fire([Sample(CONNECT, elapsed, no_welcome)])
            return False
        self.meter, self._ws, self._stack, self._closing = meter, ws, stack, False
        self.fire([Sample(CONNECT, elapsed)])
        self._reader = gevent.spawn(self._read, ws, meter)
        return True

    def _open(self, stack: contextlib.ExitStack) -> ClientConnection:
        """Connect; `stack` closes it (websockets 17 wants connections used as context managers)."""
        try:
            return stack.enter_context(
                connect(
                    self.url,
                    open_timeout=self.open_timeout_s,
                    close_timeout=2.0,
                    ping_interval=None,  # the server pings (PRES-004); websockets answers in its reader greenlet
                    compression=None,  # measure the server, not zlib in this process
                    proxy=None,  # a load generator talks to the target directly
                    max_size=MAX_FRAME_BYTES,
                )
            )
        except InvalidStatus as exc:
            raise ConnectFailed(f"HTTP {exc.response.status_code}") from exc
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise ConnectFailed(type(exc).__name__) from exc

    def _await_welcome(self, ws: ClientConnection, meter: Meter, started: float) -> ConnectFailed | None:
        """None when the first frame is the welcome (CONN-003); otherwise why the connect failed."""
        remaining = max(0.1, self.open_timeout_s - (time.perf_counter() - started))
        try:
            message = ws.recv(timeout=remaining)
        except TimeoutError:
            return ConnectFailed(f"no welcome within {self.open_timeout_s:g} s")
        except ConnectionClosed as exc:
            return ConnectFailed(f"closed {exc.rcvd.code if exc.rcvd else 1006} before welcome")
        meter.receive(message, now=time.perf_counter(), wall=time.time())
        if meter.protocol.welcome is not None:
            return None
        first = meter.protocol.received[-1].frame if meter.protocol.received else None
        if isinstance(first, System) and first.event is SystemEvent.ERROR:
            return ConnectFailed(str(first.code))  # room_full, too_many_connections (LIMIT-006)
        return ConnectFailed("CONN-003 first frame is not the welcome")

    # --- the reader greenlet ----------------------------------------------------------------------------------------

    def _read(self, ws: ClientConnection, meter: Meter) -> None:
        """Consume frames as they arrive; wake up every SWEEP_INTERVAL_S to fail overdue waits."""
        while True:
            try:
                message = ws.recv(timeout=SWEEP_INTERVAL_S)
            except TimeoutError:
                self.fire(meter.sweep(time.perf_counter()))
                continue
            except ConnectionClosed as exc:
                self._on_closed(ws, meter, exc)
                return
            self.fire(meter.receive(message, now=time.perf_counter(), wall=time.time()))

    def _on_closed(self, ws: ClientConnection, meter: Meter, exc: ConnectionClosed) -> None:
        if self._ws is ws:
            self._ws = None
        if self._closing:
            return
        code = exc.rcvd.code if exc.rcvd else 1006
        self.fire([Sample(CONNECT, 0.0, ConnectionLost(f"closed by server, code {code}"))])
        self.fire(meter.sweep(time.perf_counter()))
        self.fire(meter.abandon(f"close {code}"))

    # --- sending ----------------------------------------------------------------------------------------------------

    def _send(self, text: str) -> bool:
        ws = self._ws
        if ws is None:
            return False
        try:
            ws.send(text)
        except ConnectionClosed:
            return False  # the reader greenlet reports the close and abandons what was pending
        return True

    def chat(self, content: str) -> bool:
        """Send a stamped user_msg; other members fire its `fanout` samples. False when not connected."""
        if self.meter is None or self._ws is None:
            return False
        return self._send(self.meter.chat(content, now=time.perf_counter(), wall=time.time()))

    def ask(self, content: str, history: Iterable[HistoryItem] = ()) -> Ask | None:
        """Send an ai_msg and block this greenlet until it ends (ai_done, hang or close); None if not connected."""
        if self.meter is None or self._ws is None:
            return None
        text, ask = self.meter.ask(content, history, now=time.perf_counter())
        finished = gevent.event.Event()
        ask.listeners.append(finished.set)
        if self._send(text):
            finished.wait(timeout=self.ai_deadline_s + SWEEP_INTERVAL_S)
        self.fire(self.meter.sweep(time.perf_counter()))
        if ask.outcome is None:  # not sent, or the reader died: never leave it uncounted
            self.fire(self.meter.abandon("send failed"))
        return ask

    # --- ending -----------------------------------------------------------------------------------------------------

    def drain(self, timeout_s: float) -> None:
        """Wait (at most `timeout_s`) until nothing is pending; the reader keeps resolving or sweeping."""
        deadline = time.perf_counter() + timeout_s
        while self.meter is not None and self.meter.pending and self._ws is not None:
            if time.perf_counter() >= deadline:
                break
            gevent.sleep(min(0.05, SWEEP_INTERVAL_S))

    def close(self) -> None:
        """Close cleanly; whatever is still pending is counted as failed, never dropped."""
        meter = self.meter
        self._closing = True
        if meter is not None:
            self.fire(meter.sweep(time.perf_counter()))
            self.fire(meter.abandon("the user stopped"))
        self._stack.close()  # a no-op for a connection the server already closed
        if self._reader is not None:
            self._reader.join(timeout=2.0)
            self._reader.kill(block=False)
        self._ws = self._reader = None
