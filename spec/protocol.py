"""The client side of the protocol, sans I/O: frames in, frames out, and every invariant a client can see.

`ClientProtocol` is driven by whoever owns the socket (the conformance driver on asyncio, the Locust user on
gevent, a test). It produces the text of frames to send and consumes the text of frames received. It never
raises for a server's misbehaviour: each broken requirement is recorded as a `RemoteProtocolError` in
`violations` (with the frame index), so a check can decide which ones are its business. Misuse by the caller
(for example asking with an `id` that is already pending) raises `LocalProtocolError`: that is our bug.

Invariants checked on every received frame:

    FRAME-001  a text frame with one JSON object valid against server-frame.schema.json
    FRAME-004  a system frame carries `event`
    CONN-003   the first frame is the welcome
    CHAT-002   a user_msg broadcast carries `seq` and `ts`
    CHAT-004   room events arrive with strictly increasing `seq`
    CHAT-005   (SHOULD) and without gaps after the welcome
    AI-001     ai_chunk/ai_done only answer an ai_msg this connection sent
    AI-002     nothing for an AI exchange after its ai_done
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from roomwire.spec.codes import AiStatus, ErrorCode, SystemEvent
from roomwire.spec.errors import LocalProtocolError, RemoteProtocolError
from roomwire.spec.messages import (
    AiChunk,
    AiDone,
    ClientAiMsg,
    ClientFrame,
    ClientPing,
    ClientUserMsg,
    HistoryItem,
    ServerFrame,
    ServerUserMsg,
    System,
    encode,
    parse_server_frame,
)
from roomwire.spec.validate import validate_server_payload

#: Error codes that answer an ai_msg; a notice with one of these and no id belongs to the oldest pending exchange.
AI_ERROR_CODES = frozenset(
    {
        ErrorCode.AI_BUSY,
        ErrorCode.AI_QUOTA,
        ErrorCode.UPSTREAM_RATE_LIMITED,
        ErrorCode.UPSTREAM_ERROR,
        ErrorCode.UPSTREAM_TIMEOUT,
        ErrorCode.AI_BLOCKED,
        ErrorCode.AI_INCOMPLETE,
        ErrorCode.AI_EMPTY,
    }
)


@dataclass
class AiExchange:
    """One ai_msg and what came back for it. Times are whatever clock the caller passes (`now`)."""

    request: ClientAiMsg
    sent_at: float | None
    chunks: list[str] = field(default_factory=list)
    chunk_times: list[float] = field(default_factory=list)
    errors: list[System] = field(default_factory=list)
    done: AiDone | None = None
    done_at: float | None = None

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    @property
    def finished(self) -> bool:
        return self.done is not None

    @property
    def status(self) -> AiStatus | None:
        return self.done.status if self.done else None


@dataclass(frozen=True)
class Received:
    """One frame as received: its index on this connection, the raw text, the parsed frame (None if unusable)."""

    index: int
    raw: str
    frame: ServerFrame | None
    at: float | None
    data: dict[str, Any] | None = None


class ClientProtocol:
    """One client connection's view of the protocol; see the module docstring."""

    def __init__(self, *, nickname: str | None = None, since: int | None = None) -> None:
        self.nickname = nickname
        self.since = since
        self.welcome: System | None = None
        self.received: list[Received] = []
        self.violations: list[tuple[int, RemoteProtocolError]] = []
        self.exchanges: list[AiExchange] = []
        self.last_seq: int | None = since
        self._ids = itertools.count(1)

    # --- sending --------------------------------------------------------------------------------------------------

    def next_id(self, prefix: str = "c") -> str:
        return f"{prefix}-{next(self._ids)}"

    def user_msg(self, content: str, *, nickname: str | None = None, id: str | None = None) -> str:
        return self._send(ClientUserMsg(content=content, nickname=nickname, id=id))

    def ai_msg(
        self,
        content: str,
        *,
        history: tuple[HistoryItem, ...] = (),
        id: str | None = None,
        nickname: str | None = None,
        now: float | None = None,
    ) -> str:
        """Frame an ai_msg and open its exchange. Ids must be unique among pending exchanges."""
        if id is not None and any(e.request.id == id and not e.finished for e in self.exchanges):
            raise LocalProtocolError(f"ai_msg id {id!r} is already pending")
        request = ClientAiMsg(content=content, history=history, id=id, nickname=nickname)
        self.exchanges.append(AiExchange(request=request, sent_at=now))
        return encode(request)

    def ping(self, *, id: str | None = None) -> str:
        return self._send(ClientPing(id=id))

    def _send(self, frame: ClientFrame) -> str:
        return encode(frame)

    # --- receiving ------------------------------------------------------------------------------------------------

    @property
    def pending(self) -> list[AiExchange]:
        return [e for e in self.exchanges if not e.finished]

    def exchange(self, id: str) -> AiExchange:
        for candidate in reversed(self.exchanges):
            if candidate.request.id == id:
                return candidate
        raise LocalProtocolError(f"no ai_msg with id {id!r} was sent")

    def receive_binary(self, data: bytes, *, now: float | None = None) -> Received:
        index = len(self.received)
        item = Received(index=index, raw=f"<binary frame, {len(data)} bytes>", frame=None, at=now)
        self.received.append(item)
        self._violate(index, "FRAME-001", "the server sent a binary frame")
        return item

    def receive(self, text: str, *, now: float | None = None) -> Received:
        """Consume one text frame; returns it parsed (frame is None when it broke FRAME-001)."""
        index = len(self.received)
        verdict = validate_server_payload(text)
        if not verdict.valid or verdict.frame is None:
            item = Received(index=index, raw=text, frame=None, at=now, data=verdict.frame)
            self.received.append(item)
            for violation in verdict.violations:
                self._violate(index, violation.requirement_id, f"{violation.message} at '{violation.path}'")
            return item
        return self.receive_valid(text, verdict.frame, now=now)

    def receive_valid(self, text: str, data: dict[str, Any], *, now: float | None = None) -> Received:
        """Consume one frame whose JSON object `data` the caller has already validated (or chose to trust).

        Every protocol check but the schema step runs (a load generator validates a sample off its
        measurement path). Raises KeyError/ValueError/TypeError, recording nothing, when `data` does not parse
        as a server frame: the caller then hands the text to `receive`, which says why.
        """
        frame = parse_server_frame(data)
        index = len(self.received)
        item = Received(index=index, raw=text, frame=frame, at=now, data=data)
        self.received.append(item)
        self._check_welcome(index, frame)
        if isinstance(frame, ServerUserMsg):
            self._check_broadcast(index, frame)
            self._check_seq(index, frame.seq)
        elif isinstance(frame, System):
            self._on_system(index, frame)
        elif isinstance(frame, AiChunk | AiDone):
            self._on_ai(index, frame, now)
        return item

    def _violate(self, index: int, requirement_id: str, detail: str) -> None:
        self.violations.append((index, RemoteProtocolError(requirement_id, f"frame #{index}: {detail}")))

    def _check_welcome(self, index: int, frame: ServerFrame) -> None:
        if index == 0 and not (isinstance(frame, System) and frame.event is SystemEvent.WELCOME):
            self._violate(index, "CONN-003", f"first frame is {frame.to_json().get('type')!r}, not the welcome")

    def _check_broadcast(self, index: int, frame: ServerUserMsg) -> None:
        missing = [name for name in ("seq", "ts") if getattr(frame, name) is None]
        if missing:
            self._violate(index, "CHAT-002", f"user_msg without {', '.join(missing)}")

    def _check_seq(self, index: int, seq: int | None) -> None:
        if seq is None:
            return
        if self.last_seq is not None:
            if seq <= self.last_seq:
                self._violate(index, "CHAT-004", f"seq {seq} after seq {self.last_seq}")
                return
            if self.welcome is not None and seq != self.last_seq + 1 and not self._gap_excused(seq):
                self._violate(index, "CHAT-005", f"seq jumped from {self.last_seq} to {seq}")
        self.last_seq = seq

    def _gap_excused(self, seq: int) -> bool:
        """A gap inside a replay that the welcome declared incomplete (RECON-004) is not a CHAT-005 gap."""
        welcome = self.welcome
        return (
            welcome is not None
            and welcome.resume is not None
            and not welcome.resume.complete
            and welcome.seq is not None
            and seq <= welcome.seq + 1
        )

    def _on_system(self, index: int, frame: System) -> None:
        if frame.event is None:
            self._violate(index, "FRAME-004", "system frame without event")
            return
        if frame.event is SystemEvent.WELCOME:
            if self.welcome is not None:
                self._violate(index, "CONN-003", "a second welcome on one connection")
                return
            self.welcome = frame
            if not self._replaying(frame):
                self.last_seq = frame.seq
            return
        if frame.is_room_event:
            self._check_seq(index, frame.seq)
        elif frame.event is SystemEvent.ERROR and frame.code in AI_ERROR_CODES:
            exchange = self._exchange_for(frame.id)
            if exchange is not None:
                exchange.errors.append(frame)

    def _replaying(self, welcome: System) -> bool:
        """Whether room events up to welcome.seq follow (RECON-004), so `seq` continues from `since`.

        Without a `resume` answer nothing is replayed, and a `since` above the welcome's `seq` means the room's
        counter started again (a restarted server): either way live events continue from the welcome's `seq`.
        """
        return (
            self.since is not None
            and welcome.resume is not None
            and welcome.seq is not None
            and self.since <= welcome.seq
        )

    def _exchange_for(self, id: str | None) -> AiExchange | None:
        """The pending exchange a server frame belongs to: by echoed id, else the oldest pending one."""
        pending = self.pending
        if id is not None:
            for exchange in pending:
                if exchange.request.id == id:
                    return exchange
            return None
        return pending[0] if pending else None

    def _on_ai(self, index: int, frame: AiChunk | AiDone, now: float | None) -> None:
        exchange = self._exchange_for(frame.id)
        name = frame.TYPE.value
        if exchange is None:
            # With an id, "finished" means that exchange is over; without one, that every exchange is.
            finished = (
                any(e.request.id == frame.id for e in self.exchanges) if frame.id is not None else bool(self.exchanges)
            )
            if finished:
                self._violate(index, "AI-002", f"{name} for id {frame.id!r} after its ai_done")
            else:
                self._violate(index, "AI-001", f"{name} (id {frame.id!r}) answers no ai_msg of this connection")
            return
        if isinstance(frame, AiChunk):
            exchange.chunks.append(frame.content)
            if now is not None:
                exchange.chunk_times.append(now)
        else:
            exchange.done = frame
            exchange.done_at = now

    # --- views for checks -----------------------------------------------------------------------------------------

    def frames(self) -> list[ServerFrame]:
        return [item.frame for item in self.received if item.frame is not None]

    def room_events(self) -> list[ServerUserMsg | System]:
        events: list[ServerUserMsg | System] = []
        for frame in self.frames():
            if isinstance(frame, ServerUserMsg) or (isinstance(frame, System) and frame.is_room_event):
                events.append(frame)
        return events

    def violations_of(self, *requirement_ids: str) -> list[RemoteProtocolError]:
        wanted = set(requirement_ids)
        return [error for _, error in self.violations if not wanted or error.requirement_id in wanted]
