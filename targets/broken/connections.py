"""Connection subclasses of the reference, each breaking exactly one rule (the one its docstring names).

Each overrides one small method of `roomwire.reference.connection.Connection` (its seams), so every other
rule of the reference still holds: a conformance check that fails against a variant fails for that defect.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
from time import monotonic
from typing import Any

from roomwire.reference.connection import Connection
from roomwire.reference.ratelimit import FrameRateLimiter
from roomwire.reference.rooms.broker import EventDraft, EventKind, Joined, RoomEvent
from roomwire.reference.upstream_errors import Failure
from roomwire.spec.codes import AiStatus, CloseCode, ErrorCode, LeaveReason
from roomwire.spec.fastcheck import nickname_ok
from roomwire.spec.messages import AiChunk, ClientAiMsg, ClientUserMsg, HistoryItem, System
from roomwire.targets.broken.upstream import ERROR_DETAILS


class DropsLeaveNotice(Connection):
    """PRES-002/003/004/006: leaves the room but never tells the others (the seed's failure 2, everywhere)."""

    async def announce_leave(self, reason: LeaveReason) -> None:
        if self._left:
            return
        self._left = True
        if self._joined:
            await self.hub.broker.leave(self.room, self, reason, announce=False)


class EchoesToOtherRooms(Connection):
    """CHAT-003: a message goes to every room that has members on this server, not only the sender's."""

    async def on_user_msg(self, frame: ClientUserMsg) -> None:
        await super().on_user_msg(frame)
        draft = EventDraft(EventKind.USER_MSG, nickname=self.nickname, content=frame.content, id=frame.id)
        for room in {c.room for c in list(self.hub.connections)} - {self.room}:
            await self.hub.broker.publish(room, draft)


class NoAiDoneOnError(Connection):
    """AI-002, UP-001..006: a failed answer gets its notice but no ai_done (the seed's page spins forever)."""

    def send_ai_done(self, status: AiStatus, id: str | None) -> None:
        if status in (AiStatus.ERROR, AiStatus.BLOCKED):
            if self._ai_task is not None and self._ai_task is asyncio.current_task():
                self._ai_task = None
            return
        super().send_ai_done(status, id)


class CrashesOnBadJson(Connection):
    """INPUT-001: a frame that is not JSON kills the handler (closed 1011) instead of getting bad_json."""

    def handle_bad_frame(self, code: ErrorCode, frame: dict[str, Any] | None) -> None:
        if code is ErrorCode.BAD_JSON:
            raise ValueError("the handler died on a frame that is not JSON")
        super().handle_bad_frame(code, frame)


class NoWelcome(Connection):
    """CONN-003: joins and announces, but never sends the welcome."""

    def send_welcome(self, joined: Joined) -> None:
        return


class NicknameNotBound(Connection):
    """IDENT-002: every frame's nickname is adopted, so anyone can speak as anyone (the seed's behaviour)."""

    async def bind_nickname(self, nickname: str | None) -> None:
        if nickname is None or nickname == self._nickname:
            return
        self._nickname = nickname
        if self._joined:
            await self.hub.broker.rename(self.room, self)


class AiChunksToRoom(Connection):
    """AI-001: the asker's ai_chunk frames go to every member of the room."""

    def send_ai_chunk(self, content: str, id: str | None) -> None:
        for member in [c for c in list(self.hub.connections) if c.room == self.room]:
            member.push(AiChunk(content=content, id=id))


class BuffersAiAnswer(Connection):
    """AI-003: the answer is collected and sent as one ai_chunk at the end (no typing effect)."""

    _buffer: list[str] | None = None

    def send_ai_chunk(self, content: str, id: str | None) -> None:
        self._buffer = [*(self._buffer or []), content]

    def _flush(self, id: str | None) -> None:
        if self._buffer:
            super().send_ai_chunk("".join(self._buffer), id)
        self._buffer = None

    def send_ai_error(self, failure: Failure, id: str | None) -> None:
        self._flush(id)
        super().send_ai_error(failure, id)

    def send_ai_done(self, status: AiStatus, id: str | None) -> None:
        self._flush(id)
        super().send_ai_done(status, id)


class ReplaysAiAnswerAtTheEnd(BuffersAiAnswer):
    """AI-003: the answer's chunks are kept until upstream has ended, then sent one frame each (several chunks, but
    no typing effect while the answer streams)."""

    def _flush(self, id: str | None) -> None:
        for content in self._buffer or ():
            Connection.send_ai_chunk(self, content, id)
        self._buffer = None


class EscapesHtml(Connection):
    """CHAT-002: content is HTML-escaped before the broadcast (rendering is the client's job, CLIENT-004)."""

    async def on_user_msg(self, frame: ClientUserMsg) -> None:
        await super().on_user_msg(
            ClientUserMsg(content=html.escape(frame.content), nickname=frame.nickname, id=frame.id)
        )


class _Uncapped(tuple[HistoryItem, ...]):
    """A history whose slices are itself: `history[-max_history_items:]` keeps every item."""

    def __getitem__(self, index: Any) -> Any:
        return self if isinstance(index, slice) else super().__getitem__(index)


class HistoryUncapped(Connection):
    """AI-009: every history item goes upstream (the cap `max_history_items` is advertised, not applied)."""

    async def on_ai_msg(self, frame: ClientAiMsg) -> None:
        uncapped = ClientAiMsg(
            content=frame.content, history=_Uncapped(frame.history), id=frame.id, nickname=frame.nickname
        )
        await super().on_ai_msg(uncapped)


class AnswersInReadLoop(Connection):
    """AI-005/AI-006: the answer is awaited in the read loop, so chat and a second question wait for it."""

    async def on_ai_msg(self, frame: ClientAiMsg) -> None:
        await super().on_ai_msg(frame)
        task = self._ai_task
        if task is not None:
            await asyncio.wait([task])


class NoRateLimit(Connection):
    """LIMIT-003: advertises rate_per_s and burst but enforces nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limiter = None


class BinaryClosesNormally(Connection):
    """INPUT-004: a binary frame is answered with a normal close (1000) instead of 1003."""

    def on_binary(self) -> None:
        if self.outbox.closing:
            return
        self._leave_reason = LeaveReason.SERVER
        self.outbox.close(CloseCode.NORMAL, "bye")
        self._spawn(self.announce_leave(LeaveReason.SERVER))


class KeepsSlowConsumers(Connection):
    """FLOW-002: the send queue is unbounded, so a member that stops reading is never dropped."""

    def on_overflow(self) -> None:
        return


class AwaitsSlowMember(Connection):
    """FLOW-001: room events are written to each member in turn, awaiting each write (the seed's broadcast loop),
    so one member that stops reading stalls the room."""

    _locks: dict[str, asyncio.Lock] = {}

    def deliver(self, event: RoomEvent) -> None:
        if self._pending is not None or event.seq <= self._last_seq:
            super().deliver(event)
            return
        self._last_seq = event.seq
        lock = self._locks.setdefault(self.room, asyncio.Lock())
        text = event.frame(self.lang).text
        self._spawn(self._send_in_turn(lock, text))

    async def _send_in_turn(self, lock: asyncio.Lock, text: str) -> None:
        async with lock:
            try:
                await self._send({"type": "websocket.send", "text": text})
            except Exception:  # a gone member, as the seed's loop would hit
                return


class BindsNicknameOfInvalidFrames(Connection):
    """IDENT-001: a frame refused as invalid still binds the (valid) nickname it carries."""

    def handle_bad_frame(self, code: ErrorCode, frame: dict[str, Any] | None) -> None:
        nickname = frame.get("nickname") if frame is not None else None
        if isinstance(nickname, str) and nickname_ok(nickname) and self._nickname is None:
            self._nickname = nickname
            if self._joined:
                self._spawn(self.hub.broker.rename(self.room, self))
        super().handle_bad_frame(code, frame)


class BurstMinusOne(Connection):
    """CONN-006: advertises `burst` but its token bucket holds one frame less."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = self.hub.limits
        self.limiter = FrameRateLimiter(limits.rate_per_s, limits.burst - 1, monotonic())


class ContentLimitOneBelow(Connection):
    """CONN-006: advertises max_content_chars but answers too_long to a content of exactly that many."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_chars = self.hub.limits.max_content_chars - 1


class StripsChunkWhitespace(Connection):
    """AI-004: each ai_chunk is sent with its leading and trailing whitespace stripped."""

    def send_ai_chunk(self, content: str, id: str | None) -> None:
        if content.strip():
            super().send_ai_chunk(content.strip(), id)


class ErrorDetailsInNotice(Connection):
    """UP-008, SEC-003 (with upstream.KeepsErrorDetails): the asker's notice for an upstream error says what
    upstream's error details said, after the fixed text."""

    def send_ai_error(self, failure: Failure, id: str | None) -> None:
        details = ERROR_DETAILS.get()
        if not details:
            super().send_ai_error(failure, id)
            return
        notice = System.error(
            failure.code, lang=self.lang, id=id, retry_after=failure.retry_after, max_chars=self.max_chars
        )
        self.push(dataclasses.replace(notice, content=f"{notice.content} ({details})"))


class NoNoticeForAnEmptyAnswer(Connection):
    """AI-010: an answer cut at MAX_TOKENS before any text ends with a bare ai_done 'truncated', no ai_empty: the
    asker sees nothing at all."""

    def send_ai_error(self, failure: Failure, id: str | None) -> None:
        if failure.code is not ErrorCode.AI_EMPTY:
            super().send_ai_error(failure, id)


class EmptyChunkForAnEmptyAnswer(Connection):
    """AI-010: an answer cut at MAX_TOKENS before any text gets an empty ai_chunk first (then ai_empty and
    ai_done 'truncated'), as a backend that forwards every upstream chunk's text, empty or not."""

    def send_ai_error(self, failure: Failure, id: str | None) -> None:
        if failure.code is ErrorCode.AI_EMPTY:
            self.push(AiChunk(content="", id=id))
        super().send_ai_error(failure, id)
