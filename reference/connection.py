"""One accepted WebSocket: its membership of a room, the rule for every client frame, and how it ends.

Lifecycle, in the order the methods run:

    run ─► enter ──────────────► read_loop ─────────────────────► finish
           │ address limits       │ on_text: rate ► classify       │ stop_ai, announce_leave
           │ broker.join, which   │   ► on_user_msg / on_ai_msg /  │ (broker.leave, which
           │   publishes the join │     on_ping, handle_bad_frame  │   publishes the leave)
           │ welcome, replay      │ on_binary ► close 1003
                                  └ websocket.disconnect ► leave_reason_of

Frames come in through `read_loop`, or, while it waits, straight from the WebSocket reader (`offer`: a loop turn
and a queue hop less per frame). Frames go out through `self.outbox` (never awaited: FLOW-001); AI answers run
in their own task (`relay.py`, AI-005). The server ends a connection with `close_soon`, which announces the leave
at once and closes after what is queued (or, for a slow consumer, instead of it).

Seams: every rule is a small method, so a deliberately broken variant (the conformance suite's "broken
references") overrides one of them and passes its class to `create_app(connection_class=...)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from time import monotonic, perf_counter
from typing import TYPE_CHECKING, Any

from roomwire.reference.ai import AiRequest, AiStream
from roomwire.reference.frames import WireFrame, welcome_frame
from roomwire.reference.handshake import Admission
from roomwire.reference.hypercorn_ext import EXTENSION, REASON
from roomwire.reference.outbox import AsgiSend, FastWire, Outbox, Wire
from roomwire.reference.ratelimit import FrameRateLimiter, Verdict
from roomwire.reference.relay import failed_stream, relay
from roomwire.reference.rooms.broker import BrokerUnavailable, EventDraft, EventKind, Joined, RoomEvent, RoomFull
from roomwire.reference.rooms.budget import Grant
from roomwire.reference.upstream_errors import Failure
from roomwire.spec.codes import AiStatus, CloseCode, ErrorCode, LeaveReason, NoticeCode
from roomwire.spec.fastcheck import id_ok
from roomwire.spec.messages import (
    AiChunk,
    AiDone,
    ClientAiMsg,
    ClientFrame,
    ClientPing,
    ClientUserMsg,
    Pong,
    Resume,
    ServerFrame,
    System,
)
from roomwire.spec.texts import neutral_name
from roomwire.spec.validate import BadFrame, NotJsonObject, classify_client_frame, load_json_object

if TYPE_CHECKING:
    from roomwire.reference.hub import Hub

log = logging.getLogger(__name__)

AsgiReceive = Any  # Callable[[], Awaitable[dict[str, Any]]]

#: Close reasons are fixed texts (ERR-003).
CLOSE_REASONS = {
    CloseCode.GOING_AWAY: "server shutting down",
    CloseCode.UNSUPPORTED_DATA: "binary frames are not supported",
    CloseCode.POLICY_VIOLATION: "too many frames",
    CloseCode.INTERNAL_ERROR: "internal error",
    CloseCode.SERVICE_RESTART: "server restarting",
    CloseCode.TRY_AGAIN_LATER: "try again later",
}
_LEAVE_REASONS = frozenset(reason.value for reason in LeaveReason)
#: A client frame's `type` by its class, for the frames_in metric (an enum's `.value` costs 150 ns a frame).
_TYPE_OF: dict[type, str] = {cls: cls.TYPE.value for cls in (ClientUserMsg, ClientAiMsg, ClientPing)}


class Connection:
    """One member of one room (see the module docstring). Implements `broker.Member`."""

    def __init__(self, hub: Hub, admission: Admission, scope: dict[str, Any], send: AsgiSend) -> None:
        self.hub = hub
        self.room = admission.room
        self.lang = admission.lang
        self.address = admission.address
        self.since = admission.since if hub.resume_enabled else None
        self.max_chars = hub.limits.max_content_chars
        self.limiter = (
            None if hub.settings.no_limits else FrameRateLimiter(hub.limits.rate_per_s, hub.limits.burst, monotonic())
        )
        self._nickname = admission.nickname  # IDENT-001: from the query, else the first frame that has one
        self._scope = scope
        self._send = send
        self.outbox: Outbox
        self._pending: list[RoomEvent] | None = []  # events that arrive before the welcome is out
        self._last_seq = 0
        self._joined = self._left = self._address_taken = False
        self._leave_reason: LeaveReason | None = None
        self._ai_task: asyncio.Task[None] | None = None
        self._ai_stop = "left"
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting = False  # read_loop waits for its next message: the reader may hand frames over (`offer`)
        self._offered: asyncio.Future[None] | None = None  # set while a frame taken by `offer` is handled

    # --- identity and delivery (broker.Member) ----------------------------------------------------------------

    @property
    def nickname(self) -> str | None:
        return self._nickname

    def deliver(self, event: RoomEvent) -> None:
        """A room event for this member: each `seq` once and in order (CHAT-004), only after the welcome."""
        if event.seq <= self._last_seq:
            return
        if self._pending is not None:
            self._pending.append(event)
            return
        self._last_seq = event.seq
        frame = event.frames.get(self.lang)  # once per language per event; then shared (saves a call each)
        self.outbox.push(frame if frame is not None else event.frame(self.lang))

    @property
    def ai_task(self) -> asyncio.Task[None] | None:
        """The AI answer in flight, if any."""
        task = self._ai_task
        return task if task is not None and not task.done() else None

    def push(self, frame: ServerFrame) -> None:
        """Send a frame to this connection only."""
        self.outbox.push(WireFrame.of(frame))

    # --- lifecycle --------------------------------------------------------------------------------------------

    async def run(self, receive: AsgiReceive) -> None:
        """Serve the connection until it ends; the upgrade has been admitted (handshake.py)."""
        await self._send({"type": "websocket.accept"})
        self.outbox = Outbox(
            self.make_wire(), limit=self.hub.limits.send_queue_bytes, flusher=self.hub.flusher,
            on_overflow=self.on_overflow, counts=self.hub.metrics.frames_out,
        )  # fmt: skip
        self.hub.register(self)
        reason = LeaveReason.DROP
        try:
            if await self.enter():
                reason = await self.read_loop(receive)
            else:
                await self.wait_disconnect(receive)
        finally:
            await self.finish(reason)

    def make_wire(self) -> Wire:
        extension = self._scope.get("extensions", {}).get(EXTENSION)
        if extension is None:
            return Wire(self._send)
        return FastWire(self._send, extension.get("transport"), extension["is_open"], extension.get("held"))

    async def enter(self) -> bool:
        """Join the room (the broker publishes the join, PRES-001), send the welcome first (CONN-003), then the
        replay, then the events held back meanwhile, the join first among them."""
        if not self.hub.take_address(self.address):
            self.refuse(ErrorCode.TOO_MANY_CONNECTIONS)  # LIMIT-006
            return False
        self._address_taken = True
        wait = self.hub.take_join(self.address, self.room)
        if wait:
            self.refuse(ErrorCode.TOO_MANY_CONNECTIONS, retry_after=wait)  # LIMIT-008: churn, never announced
            return False
        try:
            joined = await self.hub.broker.join(
                self.room, self, capacity=self.hub.limits.room_capacity, since=self.since
            )
        except RoomFull:
            self.refuse(ErrorCode.ROOM_FULL)  # LIMIT-006
            return False
        except BrokerUnavailable:  # no room to enter now: say so, and let the client retry (1013)
            self.refuse(None)
            return False
        self._joined = True
        self.send_welcome(joined)
        for event in joined.replay:  # RECON-004: before any live event
            self.outbox.push(event.frame(self.lang))
        pending, self._pending = self._pending or [], None
        self._last_seq = joined.seq  # CONN-004: everything after the welcome's seq, nothing before
        for event in pending:
            self.deliver(event)
        if not self.hub.broker.healthy:  # joined a local room during an outage: told, as the members already in it
            self.push(System.notice(NoticeCode.DEGRADED, lang=self.lang))
        return True

    def send_welcome(self, joined: Joined) -> None:
        self.outbox.push(self.welcome_frame(joined))

    def welcome_frame(self, joined: Joined) -> WireFrame:
        members = [name if name is not None else neutral_name(self.lang) for name in joined.members]
        resume = None
        if self.since is not None:
            # RECON-004: a `since` past the room's seq is from an earlier sequence (the room was forgotten): incomplete
            complete = joined.complete and self.since <= joined.seq
            resume = Resume(since=self.since, replayed=len(joined.replay), complete=complete)
        return welcome_frame(
            room=self.room, nickname=self._nickname, seq=joined.seq, members=members, limits=self.hub.limits,
            capabilities=self.hub.capabilities, resume=resume, lang=self.lang,
        )  # fmt: skip

    def refuse(self, code: ErrorCode | None, *, retry_after: int | None = None) -> None:
        """LIMIT-006/008: told why, closed with 1013, never welcomed nor announced (None: the broker is down)."""
        self.hub.metrics.refused.labels(code.value if code else "degraded").inc()
        self._leave_reason = LeaveReason.SERVER
        if code is None:
            self.push(System.notice(NoticeCode.DEGRADED, lang=self.lang))
        else:
            self.send_error(code, retry_after=retry_after)
        self.outbox.close(CloseCode.TRY_AGAIN_LATER, CLOSE_REASONS[CloseCode.TRY_AGAIN_LATER])

    async def read_loop(self, receive: AsgiReceive) -> LeaveReason:
        """Frames one at a time, in order, until the disconnect. With the `roomwire.ws` extension a frame that
        arrives while this loop waits is handled by the WebSocket reader itself (`offer`): a loop turn sooner, and
        one queue hop less per frame (hypercorn_ext, 7.)."""
        receive_directly = self._scope.get("extensions", {}).get(EXTENSION, {}).get("receive_directly")
        if receive_directly is not None:
            receive_directly(self.offer)
        try:
            while True:
                self._waiting = True
                message = await receive()
                self._waiting = False
                if self._offered is not None:  # a frame the reader took is still being handled: it came first
                    await asyncio.shield(self._offered)
                if message["type"] == "websocket.receive":
                    await self.on_message(message)
                elif message["type"] == "websocket.disconnect":
                    return self.leave_reason_of(message)
        finally:
            if receive_directly is not None:  # no frame is offered to a loop that ended
                receive_directly(None)

    def offer(self, message: dict[str, Any]) -> Awaitable[None] | None:
        """A frame from the reader, to handle in its task: taken (what to await) while `read_loop` waits and no
        other offered frame is being handled; None otherwise (it then comes through `read_loop`'s queue)."""
        if not self._waiting or self._offered is not None:
            return None
        self._offered = asyncio.get_running_loop().create_future()
        return self._on_offered(message, self._offered)

    async def _on_offered(self, message: dict[str, Any], done: asyncio.Future[None]) -> None:
        try:
            await self.on_message(message)
        finally:
            self._offered = None
            done.set_result(None)

    async def on_message(self, message: dict[str, Any]) -> None:
        """One received frame; whatever it raises ends this connection only."""
        try:
            text = message.get("text")
            if text is not None:
                await self.on_text(text)
            else:
                self.on_binary()
        except BrokerUnavailable:  # the frame had no effect; the connection and the room stay
            self.push(System.notice(NoticeCode.DEGRADED, lang=self.lang))
        except Exception:  # a bug of ours: end this connection, never the others
            log.exception("handling a frame failed; closing that connection")
            self.close_soon(CloseCode.INTERNAL_ERROR, LeaveReason.SERVER)

    async def wait_disconnect(self, receive: AsgiReceive) -> None:
        while (await receive())["type"] != "websocket.disconnect":
            pass

    def leave_reason_of(self, message: dict[str, Any]) -> LeaveReason:
        """PRES-007: why the connection ended (the server's own reason wins; 1006 means no close frame)."""
        if self._leave_reason is not None:
            return self._leave_reason
        said = message.get(REASON)
        if said in _LEAVE_REASONS:
            return LeaveReason(said)
        return LeaveReason.DROP if message.get("code") == CloseCode.ABNORMAL else LeaveReason.CLOSE

    async def finish(self, reason: LeaveReason) -> None:
        self.stop_ai("left")  # AI-011
        await self.announce_leave(reason)
        self.hub.unregister(self)
        if self._address_taken:
            self.hub.release_address(self.address)

    async def announce_leave(self, reason: LeaveReason) -> None:
        """PRES-002/003/005: leave the room once; the broker publishes the leave (a member never joined is not
        announced)."""
        if self._left:
            return
        self._left = True
        self.hub.metrics.closes.labels(reason.value).inc()
        if self._joined:
            await self.hub.broker.leave(self.room, self, reason)

    def close_soon(self, code: CloseCode, reason: LeaveReason, *, discard: bool = False) -> None:
        """End the connection from the server side: leave announced now, close frame after the queue."""
        if self.outbox.closing:
            return
        self._leave_reason = reason
        self.stop_ai("left")
        self.outbox.close(code, CLOSE_REASONS[code], discard=discard)
        self._spawn(self.announce_leave(reason))

    def on_overflow(self) -> None:
        """FLOW-002: a member that does not read is dropped (1013, leave reason `server`), its queue discarded."""
        log.info("dropping a slow consumer in room %s (send queue over %d bytes)", self.room, self.outbox.queued_bytes)
        self.close_soon(CloseCode.TRY_AGAIN_LATER, LeaveReason.SERVER, discard=True)

    async def end_for_restart(self, code: CloseCode = CloseCode.SERVICE_RESTART) -> None:
        """RECON-002: end an in-flight answer with its ai_done, say `server_restart`, close with 1012."""
        if self.outbox.closing:
            return
        task = self._ai_task
        if task is not None and not task.done():
            self._ai_stop = "shutdown"
            task.cancel()
            await asyncio.wait([task], timeout=self.hub.settings.close_timeout_s)
        self.push(System.notice(NoticeCode.SERVER_RESTART, lang=self.lang))
        self.close_soon(code, LeaveReason.SERVER)

    def _spawn(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- client frames ----------------------------------------------------------------------------------------

    async def on_text(self, text: str) -> None:
        """One text frame: rate limit, then what it is (the spec's `classify_client_frame`), then its rule."""
        if self.outbox.closing:
            return
        if self.limiter is not None:
            verdict = self.limiter.check(monotonic())
            if not verdict.allowed:
                self.on_rate_limited(text, verdict)
                return
        frame = self.classify(text)  # INPUT-001/002/003, IDENT-004, LIMIT-002
        if isinstance(frame, BadFrame):
            self.hub.metrics.frame_in(frame.data.get("type") if frame.data is not None else None)
            self.handle_bad_frame(frame.code, frame.data)
            return
        self.hub.metrics.frame_in(_TYPE_OF[type(frame)])
        if isinstance(frame, ClientUserMsg):
            await self.on_user_msg(frame)
        elif isinstance(frame, ClientAiMsg):
            await self.on_ai_msg(frame)
        else:
            self.on_ping(frame)

    def classify(self, text: str) -> ClientFrame | BadFrame:
        """What a client text frame is: the spec's one classifier (a seam the broken targets override)."""
        return classify_client_frame(text, self.max_chars)

    def handle_bad_frame(self, code: ErrorCode, frame: dict[str, Any] | None) -> None:
        """The error notice (INPUT-006: the frame's `id`, never its content), and `ai_done` for an ai_msg."""
        frame_id, is_ai = _id_and_kind(frame)
        self.send_error(code, id=frame_id)
        if is_ai:
            self.send_ai_done(AiStatus.REJECTED, frame_id)  # INPUT-008

    def on_rate_limited(self, text: str, verdict: Verdict) -> None:
        """LIMIT-003: dropped, one notice per second at most; LIMIT-004: a persistent flood is closed (1008)."""
        self.hub.metrics.frame_in("dropped")
        if verdict.flood:
            self.close_soon(CloseCode.POLICY_VIOLATION, LeaveReason.SERVER)
            return
        frame = None
        if verdict.notify or "ai_msg" in text:  # parse only when the answer depends on it
            with contextlib.suppress(NotJsonObject):
                frame = load_json_object(text)
        frame_id, is_ai = _id_and_kind(frame)
        if verdict.notify:
            self.send_error(ErrorCode.RATE_LIMITED, id=frame_id, retry_after=verdict.retry_after)
        if is_ai:
            self.send_ai_done(AiStatus.REJECTED, frame_id)  # INPUT-008

    def on_binary(self) -> None:
        """INPUT-004: a binary frame means the peer does not speak this protocol."""
        self.hub.metrics.frame_in("binary")
        self.close_soon(CloseCode.UNSUPPORTED_DATA, LeaveReason.SERVER)

    async def bind_nickname(self, nickname: str | None) -> None:
        """IDENT-001/002: the first nickname binds for good; later ones are ignored, never adopted."""
        if nickname is None or self._nickname is not None:
            return
        self._nickname = nickname
        if self._joined:
            await self.hub.broker.rename(self.room, self)

    async def on_user_msg(self, frame: ClientUserMsg) -> None:
        """CHAT-001/002: to everyone in the room, sender included, under the bound nickname, content untouched."""
        await self.bind_nickname(frame.nickname)
        started = perf_counter()
        draft = EventDraft(EventKind.USER_MSG, nickname=self._nickname, content=frame.content, id=frame.id)
        await self.hub.broker.post(self.room, draft)
        self.hub.metrics.broadcast_seconds.observe(perf_counter() - started)

    def on_ping(self, frame: ClientPing) -> None:
        self.push(Pong(id=frame.id))

    # --- AI ---------------------------------------------------------------------------------------------------

    async def on_ai_msg(self, frame: ClientAiMsg) -> None:
        """AI-006 busy, LIMIT-005 budget, else start the answer beside the read loop (AI-005)."""
        await self.bind_nickname(frame.nickname)
        if self._ai_task is not None:
            self.reject_ai(ErrorCode.AI_BUSY, frame.id)
            return
        if self.hub.shutting_down:
            self.reject_ai(None, frame.id)
            return
        grant = await self.hub.budget.acquire()
        if grant.wait:
            self.reject_ai(ErrorCode.AI_QUOTA, frame.id, retry_after=grant.wait)
            return
        if await self.withdraw_if_ending(grant, frame.id):
            return
        history = frame.history[-self.hub.limits.max_history_items :]  # AI-009
        started = perf_counter()
        try:
            stream = self.hub.ai.stream(AiRequest(question=frame.content, history=history))  # a worker: sent now
        except Exception as exc:  # a client that fails at once fails the answer, as one that fails later does
            stream = failed_stream(exc)
        self._ai_stop = "left"
        self._ai_task = task = asyncio.get_running_loop().create_task(self._answer(stream, frame.id, started))
        task.add_done_callback(self._ai_finished)
        task.add_done_callback(lambda done: self._spawn(stream.aclose()) if done.cancelled() else None)

    async def withdraw_if_ending(self, grant: Grant, id: str | None) -> bool:
        """If the connection began closing or the server stopping while the budget answered (a shared budget
        answers over the network): give the admission back (it never reaches upstream), refuse the question as
        `on_ai_msg` does, and return True. Otherwise do nothing and return False.
        """
        if not (self.outbox.closing or self.hub.shutting_down):
            return False
        await self.hub.budget.release(grant)
        if not self.outbox.closing:
            self.reject_ai(None, id)
        return True

    def reject_ai(self, code: ErrorCode | None, id: str | None, *, retry_after: int | None = None) -> None:
        """INPUT-008: the reason, then `ai_done` `rejected`; `code` None means the server is restarting."""
        if code is None:
            self.push(System.notice(NoticeCode.SERVER_RESTART, lang=self.lang))
        else:
            self.send_error(code, id=id, retry_after=retry_after)
        self.send_ai_done(AiStatus.REJECTED, id)

    async def _answer(self, stream: AiStream, id: str | None, started: float) -> None:
        """The answer's task (AI-005). Cancelled before its first step, it never runs `relay`, which closes the
        stream: `on_ai_msg` closes it then (a question already sent to the AI worker is cancelled there)."""
        try:
            await relay(
                stream, self, id, timeout_s=self.hub.limits.ai_timeout_s, metrics=self.hub.metrics, started=started
            )
        except asyncio.CancelledError:
            if self._ai_stop == "shutdown":
                self.send_ai_done(AiStatus.ERROR, id)  # AI-002, RECON-002
            raise

    def _ai_finished(self, task: asyncio.Task[None]) -> None:
        if self._ai_task is task:
            self._ai_task = None
        if not task.cancelled() and task.exception() is not None:
            log.error("an AI answer task failed", exc_info=task.exception())

    def stop_ai(self, why: str) -> None:
        """Cancel the answer in flight; the upstream request goes with it (AI-011)."""
        task = self._ai_task
        if task is not None and not task.done():
            self._ai_stop = why
            task.cancel()

    def send_ai_chunk(self, content: str, id: str | None) -> None:
        """One frame for one member, on the time-to-first-chunk path: written in this loop turn rather than the
        flusher's next one (which can wait behind other answers' SDK work); chunks come tens of ms apart, so
        there is nothing to batch."""
        self.push(AiChunk(content=content, id=id))
        self.outbox.flush()

    def send_ai_error(self, failure: Failure, id: str | None) -> None:
        self.send_error(failure.code, id=id, retry_after=failure.retry_after)

    def send_ai_done(self, status: AiStatus, id: str | None) -> None:
        if self._ai_task is not None and self._ai_task is asyncio.current_task():
            self._ai_task = None  # the slot is free before the client can see this ai_done (AI-006)
        self.push(AiDone(status=status, id=id))

    def send_error(self, code: ErrorCode, *, id: str | None = None, retry_after: int | None = None) -> None:
        self.push(System.error(code, lang=self.lang, id=id, retry_after=retry_after, max_chars=self.max_chars))


def _id_and_kind(frame: dict[str, Any] | None) -> tuple[str | None, bool]:
    """The frame's `id` if it is a valid one (INPUT-006), and whether the frame is an ai_msg (INPUT-008)."""
    if frame is None:
        return None, False
    frame_id = frame.get("id")
    return (frame_id if id_ok(frame_id) else None), frame.get("type") == "ai_msg"
