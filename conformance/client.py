"""One suite-side connection: a `websockets` client feeding a sans-I/O `ClientProtocol`, with a transcript.

A reader task takes every frame as it arrives (so nothing is lost while a check is busy, and the library's
queue never pushes back on the target), feeds it to `ClientProtocol` (which records every invariant the
frame breaks, with its requirement ID), writes it to the transcript, scans it for watched secrets and wakes
the waiters. Every await has a timeout; waiting returns None on timeout or close and leaves the verdict to
the check (`expect` turns a miss into a SpecViolation for the check's own requirement).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from roomwire.conformance.frames import Predicate, summarize
from roomwire.conformance.stalls import LoopStalls, StallWait
from roomwire.conformance.transcript import Clock, LeakWatch, Transcript
from roomwire.spec.errors import HarnessError, SpecViolation
from roomwire.spec.messages import HistoryItem
from roomwire.spec.protocol import ClientProtocol, Received
from roomwire.spec.validate import NotJsonObject, load_json_object


class SendStalled(HarnessError):
    """The target stopped reading this connection for longer than the send timeout."""


class Client:
    """A connected client; see the module docstring. Built by `Driver.connect`."""

    def __init__(
        self,
        *,
        label: str,
        ws: ClientConnection,
        protocol: ClientProtocol,
        transcript: Transcript,
        watch: LeakWatch,
        check: str,
        send_timeout: float,
        nickname: str | None = None,
        validate: bool = True,
        stalls: LoopStalls | None = None,
    ) -> None:
        self.label = label
        self.stalls = stalls if stalls is not None else LoopStalls()  # not started: measures nothing, credits nothing
        self.validate = validate
        self.ws = ws
        self.protocol = protocol
        self.transcript = transcript
        self.nickname = nickname
        self.watch = watch
        self.check = check
        self.send_timeout = send_timeout
        self.clock: Clock = transcript.clock
        self.frame_times: list[float] = []
        self.stall_marks: list[float] = []  # the suite's stalled() total when each frame was read
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.close_received = False
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read(), name=f"reader {label}")

    # --- receiving ------------------------------------------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        return self.protocol.received

    def mark(self) -> int:
        """Index of the next frame: pass it as `since` to look only at what arrives from now on."""
        return len(self.protocol.received)

    async def _read(self) -> None:
        try:
            while True:
                message = await self.ws.recv()
                now = self.clock.now()
                if isinstance(message, str) and not self.validate:
                    self._receive_unchecked(message, now)
                elif isinstance(message, str):
                    self.protocol.receive(message, now=now)
                    self.transcript.received(message)
                    self.watch.scan(message, where="frame", check=self.check, connection=self.label)
                else:
                    self.protocol.receive_binary(message, now=now)
                    self.transcript.received(f"<binary {len(message)} bytes: {message[:60]!r}>")
                self.frame_times.append(now)
                self.transcript.frames_in += 1
                self.stall_marks.append(self.stalls.stalled())
                await self._notify()
        except ConnectionClosed:
            pass
        finally:
            self._record_close()
            self.closed.set()
            await self._notify()

    def _receive_unchecked(self, text: str, now: float) -> None:
        """Record a frame parsed but not validated: for bulk traffic (FLOW-*) whose shape FRAME-001 judges
        elsewhere, since schema validation costs milliseconds per frame and would slow the suite, not the target."""
        try:
            data: dict[str, Any] | None = load_json_object(text)
        except NotJsonObject:  # too deep included (INPUT-009's limit): FRAME-001 judges it elsewhere
            data = None
        received = self.protocol.received
        received.append(Received(index=len(received), raw=text, frame=None, at=now, data=data))

    def _record_close(self) -> None:
        rcvd = self.ws.protocol.close_rcvd
        self.close_received = rcvd is not None
        self.close_code = rcvd.code if rcvd is not None else 1006
        self.close_reason = rcvd.reason if rcvd is not None else None
        if rcvd is not None and rcvd.reason:
            self.watch.scan(rcvd.reason, where="close reason", check=self.check, connection=self.label)
        how = f"close frame {self.close_code} {self.close_reason!r}" if rcvd else "ended without a close frame"
        self.transcript.note(f"connection closed: {how}")

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _overdue(self, wait: StallWait, outcome: str) -> None:
        """Say so when a wait ends past its own time thanks to a stall's credit (once: a wait ends once)."""
        stalled = wait.overdue()
        if stalled is not None:
            took = asyncio.get_running_loop().time() - wait.started
            self.transcript.note(
                f"{outcome} after {took:.1f} s of a {wait.within:.1f} s wait, extended for a {stalled:.1f} s "
                "stall of the suite's own event loop meanwhile (harness side)"
            )

    def took(self, item: Received, sent_at: float, stalled_at_send: float) -> float | None:
        """Seconds from `sent_at` (run clock) to `item`'s arrival, less the stalls of the suite's own loop meanwhile
        (`stalled_at_send` is `stalls.stalled()` when it was sent): a frame the suite read late because its own loop
        could not run did not arrive late. None when the arrival time is unknown."""
        if item.at is None:
            return None
        stalled = self.stall_marks[item.index] - stalled_at_send if item.index < len(self.stall_marks) else 0.0
        return max(0.0, item.at - sent_at - max(0.0, stalled))

    def find(self, predicate: Predicate, since: int = 0) -> list[Received]:
        return [item for item in self.protocol.received[since:] if predicate(item)]

    async def wait_for(self, predicate: Predicate, within: float, since: int = 0) -> Received | None:
        """The first frame from index `since` on that matches, waiting up to `within`; None if none came.

        A stall of the suite's own loop meanwhile extends the wait, bounded (roomwire.conformance.stalls): a
        frame that arrived during it is read after it, however late its timer fired."""
        wait = self.stalls.wait(within)
        async with self._changed:
            while True:
                for item in self.protocol.received[since:]:
                    if predicate(item):
                        self._overdue(wait, "the frame came")
                        return item
                since = max(since, len(self.protocol.received))
                if self.closed.is_set():
                    return None
                remaining = wait.remaining()
                if remaining <= 0:
                    self._overdue(wait, "no frame came")
                    return None
                with contextlib.suppress(TimeoutError):  # then look once more: the stall may have extended it
                    await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_count(self, predicate: Predicate, count: int, within: float, since: int = 0) -> list[Received]:
        """Wait until `count` frames match (or the time is up); returns those that did."""
        seen: list[Received] = []

        def enough(item: Received) -> bool:
            if predicate(item) and item not in seen:
                seen.append(item)
            return len(seen) >= count

        await self.wait_for(enough, within, since)
        return seen

    async def expect(
        self, predicate: Predicate, *, requirement_id: str, expected: str, within: float, since: int = 0
    ) -> Received:
        """The matching frame, or SpecViolation(requirement_id) saying what arrived instead."""
        item = await self.wait_for(predicate, within, since)
        if item is not None:
            return item
        raise SpecViolation(requirement_id, f"{expected} (within {within:.1f} s)", self.describe(since))

    def how_closed(self) -> str:
        """How the connection ended, for a verdict's evidence ('open' while it has not)."""
        if not self.closed.is_set():
            return "open"
        if not self.close_received:
            return "no close frame: the TCP connection ended"
        return f"close {self.close_code}" + (f" {self.close_reason!r}" if self.close_reason else "")

    def describe(self, since: int = 0) -> str:
        """What this connection received from `since` on, and whether it closed: the `actual` of a violation."""
        text = f"{self.label} received {summarize(self.protocol.received[since:])}"
        if self.closed.is_set():
            reason = f" {self.close_reason!r}" if self.close_reason else ""
            text += f"; the connection closed ({self.close_code}{reason})"
        return text

    # --- sending --------------------------------------------------------------------------------------------------

    async def send_text(self, text: str) -> bool:
        """Send one text frame; False if the connection is already closed."""
        self.transcript.sent(text)
        return await self._send(text)

    async def send_json(self, frame: dict[str, Any]) -> bool:
        return await self.send_text(json.dumps(frame, ensure_ascii=False, separators=(",", ":")))

    async def send_binary(self, payload: bytes) -> bool:
        self.transcript.sent(f"<binary {len(payload)} bytes>")
        return await self._send(payload)

    async def send_raw_text_bytes(self, payload: bytes) -> bool:
        """A text frame whose payload is `payload` unchecked (invalid UTF-8 for INPUT-005)."""
        self.transcript.sent(f"<text frame of {len(payload)} raw bytes: {payload[:60]!r}>")
        return await self._send(payload, text=True)

    async def send_texts_at_once(self, texts: list[str]) -> bool:
        """Several text frames written to the socket at once, in one write: a burst the target
        receives as one, so that its token bucket cannot refill between the frames however slow this machine is
        (CONN-006's burst probe). False if the connection is already closed."""
        for text in texts:
            self.transcript.sent(text)
        if self.closed.is_set():
            self.transcript.note("not sent: the connection is closed")
            return False
        try:
            async with asyncio.timeout(self.send_timeout):
                async with self.ws.send_context():
                    for text in texts:
                        self.ws.protocol.send_text(text.encode())
                    # one write, so one segment on loopback and one read at the target (send_context's own
                    # send_data would write each frame on its own)
                    self.ws.transport.write(b"".join(self.ws.protocol.data_to_send()))
        except ConnectionClosed:
            self.transcript.note("not sent: the connection closed")
            return False
        except TimeoutError as exc:
            raise SendStalled(f"{self.label}: the target read nothing for {self.send_timeout:.1f} s") from exc
        return True

    async def _send(self, message: str | bytes, *, text: bool | None = None) -> bool:
        if self.closed.is_set():
            self.transcript.note("not sent: the connection is closed")
            return False
        try:
            await asyncio.wait_for(self.ws.send(message, text=text), self.send_timeout)
        except ConnectionClosed:
            self.transcript.note("not sent: the connection closed")
            return False
        except TimeoutError as exc:
            raise SendStalled(f"{self.label}: the target read nothing for {self.send_timeout:.1f} s") from exc
        return True

    async def say(self, content: str, *, id: str | None = None, nickname: str | None = None) -> bool:
        """A user_msg with this client's nickname (the seed's page sends it on every frame)."""
        return await self.send_text(self.protocol.user_msg(content, nickname=nickname or self.nickname, id=id))

    async def ask(self, content: str, *, id: str | None = None, history: tuple[HistoryItem, ...] = ()) -> bool:
        """An ai_msg; its answer is tracked by `ClientProtocol` as an exchange."""
        text = self.protocol.ai_msg(content, id=id, history=history, nickname=self.nickname, now=self.clock.now())
        return await self.send_text(text)

    async def ws_ping(self, within: float) -> bool:
        """A WebSocket-level ping (RFC 6455): True if the pong came, i.e. the connection is alive."""
        if self.closed.is_set():
            return False
        try:
            # an explicit payload: without one, websockets draws it from `random`, whose state Hypothesis
            # (the fuzz and model checks) watches while it generates
            waiter = await asyncio.wait_for(self.ws.ping(secrets.token_bytes(4)), within)
            await asyncio.wait_for(waiter, within)
        except (ConnectionClosed, TimeoutError):
            return False
        return True

    # --- ending ---------------------------------------------------------------------------------------------------

    async def close(self, within: float, code: int = 1000) -> None:
        """A clean close (close frame, then wait for the handshake), aborting if it does not complete."""
        self.transcript.note(f"suite closes with {code}")
        try:
            await asyncio.wait_for(self.ws.close(code), within)
        except (TimeoutError, ConnectionClosed, OSError):
            self.abort()
        await self.wait_closed(within)

    def abort(self) -> None:
        """Drop the TCP connection without a close frame."""
        transport = self.ws.transport
        if transport is not None and not transport.is_closing():
            transport.abort()

    async def wait_closed(self, within: float) -> bool:
        try:
            await asyncio.wait_for(self.closed.wait(), within)
        except TimeoutError:
            return False
        return True

    async def finish(self) -> None:
        """Stop the reader (used by the driver at the end of a check)."""
        self.abort()
        self._reader.cancel()
        try:
            await self._reader
        except asyncio.CancelledError:
            pass

    def local_port(self) -> int | None:
        sockname: Callable[..., Any] | None = getattr(self.ws.transport, "get_extra_info", None)
        info = sockname("sockname") if sockname else None
        return int(info[1]) if isinstance(info, tuple) and len(info) >= 2 else None
