"""More Connection subclasses of the reference, one broken rule each (see `connections` for the first ones): the
proofs for the requirements the first set did not cover (docs/conformance.md "Proof that it can fail").

Each overrides a seam of `roomwire.reference.connection.Connection` and keeps every other rule of the reference.
Timed defects delay by more than the requirement allows and less than the suite's other waits, so that only the
requirement they break fails.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import time
from typing import Any, ClassVar

from roomwire.reference.connection import Connection
from roomwire.reference.frames import WireFrame
from roomwire.reference.ratelimit import Verdict
from roomwire.reference.rooms.broker import EventDraft, EventKind, Joined, RoomEvent
from roomwire.spec.codes import AiStatus, CloseCode, ErrorCode, LeaveReason
from roomwire.spec.fastcheck import id_ok, nickname_ok
from roomwire.spec.messages import ClientAiMsg, ClientFrame, ClientUserMsg, Pong, parse_client_frame
from roomwire.spec.texts import Lang
from roomwire.spec.validate import BadFrame, Violation
from roomwire.spec.validate import Verdict as FrameVerdict
from roomwire.targets.broken.connections import DropsLeaveNotice

#: CHAT-006: longer than its 1 s, shorter than INPUT-007's 2 s and every frame wait of the suite (3 s).
SLOW_BROADCAST_S = 1.3
#: CHAT-004: a later message of the same sender overtakes a held one (the suite paces at most 10 a second).
HOLD_S = 0.3
#: INPUT-007: how long a room is slowed after one of its members sent garbage, and by how much.
STALL_WINDOW_S, STALL_S = 10.0, 4.0
#: A correct server's pause between the welcome and what follows it (the independent server's was 1.6-3.3 ms).
AFTER_WELCOME_S = 0.02


class StaleWelcomeSeq(Connection):
    """CONN-004: the welcome states the room's seq one too low, so the event it names next never comes."""

    def welcome_frame(self, joined: Joined) -> Any:
        return super().welcome_frame(dataclasses.replace(joined, seq=max(0, joined.seq - 1)))


class PongWithNumericId(Connection):
    """FRAME-001: a pong carries its id as a number, which the schema does not allow."""

    def on_ping(self, frame: Any) -> None:
        self.outbox.push(WireFrame.of_json({"type": "pong", "id": 7}, "pong"))


class RejectsUnknownFields(Connection):
    """FRAME-002: a user_msg or ai_msg with an `x-` field or a field the spec does not define gets bad_frame."""

    KNOWN: ClassVar[frozenset[str]] = frozenset({"type", "content", "nickname", "id", "history"})

    def classify(self, text: str) -> ClientFrame | BadFrame:
        frame = super().classify(text)
        if isinstance(frame, ClientUserMsg | ClientAiMsg):  # only an otherwise valid frame: its one fault is that
            data = _object(text) or {}
            if set(data) - self.KNOWN:
                return _bad(ErrorCode.BAD_FRAME, data, "FRAME-002", "a field this server does not know")
        return frame


class LeaveWithoutEvent(Connection):
    """FRAME-004: leave notices carry no `event` (the seed's bare system frame), everything else is right."""

    def deliver(self, event: RoomEvent) -> None:
        if event.kind is not EventKind.LEAVE or self._pending is not None or event.seq <= self._last_seq:
            super().deliver(event)
            return
        self._last_seq = event.seq
        rendered = _object(event.frame(self.lang).text) or {}
        rendered.pop("event", None)
        self.outbox.push(WireFrame.of_json(rendered, "system"))


class MissingTypeIsUnknown(Connection):
    """INPUT-002: a frame without a string `type` gets unknown_type instead of bad_frame."""

    def classify(self, text: str) -> ClientFrame | BadFrame:
        data = _object(text)
        if data is not None and not isinstance(data.get("type"), str):
            return _bad(ErrorCode.UNKNOWN_TYPE, data, "INPUT-002", "no string type")
        return super().classify(text)


class PongForAnyPing(Connection):
    """INPUT-003: a ping whose id is not a valid id (an object, a space) is answered with a pong."""

    async def on_text(self, text: str) -> None:
        frame = _object(text)
        if frame is not None and frame.get("type") == "ping" and "id" in frame and not id_ok(frame["id"]):
            self.push(Pong(id=None))
            return
        await super().on_text(text)


class ErrorsWithoutId(Connection):
    """INPUT-006: error notices for a bad frame never echo its id."""

    def send_error(self, code: ErrorCode, *, id: str | None = None, retry_after: int | None = None) -> None:
        super().send_error(code, id=None, retry_after=retry_after)


class StallsRoomAfterBadJson(Connection):
    """INPUT-007: after a member sends a frame that is not JSON, the room's chat is held for seconds."""

    stalled_until: ClassVar[dict[str, float]] = {}

    def handle_bad_frame(self, code: ErrorCode, frame: dict[str, Any] | None) -> None:
        if code is ErrorCode.BAD_JSON:
            self.stalled_until[self.room] = time.monotonic() + STALL_WINDOW_S
        super().handle_bad_frame(code, frame)

    def deliver(self, event: RoomEvent) -> None:
        if event.kind is EventKind.USER_MSG and self.stalled_until.get(self.room, 0.0) > time.monotonic():
            self._spawn(_later(STALL_S, lambda: super(StallsRoomAfterBadJson, self).deliver(event)))
            return
        super().deliver(event)


class NoAiDoneForBadAiMsg(Connection):
    """INPUT-008: an ai_msg refused as bad_frame gets its notice but no ai_done (too long ones still get one)."""

    def handle_bad_frame(self, code: ErrorCode, frame: dict[str, Any] | None) -> None:
        if code is ErrorCode.BAD_FRAME and frame is not None and frame.get("type") == "ai_msg":
            self.send_error(code, id=frame.get("id") if id_ok(frame.get("id")) else None)
            return
        super().handle_bad_frame(code, frame)


class UnnamedSpeaksAsAnonymous(Connection):
    """IDENT-003: a connection without a nickname speaks as 'anonymous', not the neutral name."""

    async def on_user_msg(self, frame: ClientUserMsg) -> None:
        if self._nickname is None and frame.nickname is None:
            draft = EventDraft(EventKind.USER_MSG, nickname="anonymous", content=frame.content, id=frame.id)
            await self.hub.broker.publish(self.room, draft)
            return
        await super().on_user_msg(frame)


class AcceptsPaddedNickname(Connection):
    """IDENT-004: a nickname with leading or trailing whitespace is accepted (and bound as it is)."""

    def classify(self, text: str) -> ClientFrame | BadFrame:
        data = _object(text) or {}
        nickname = data.get("nickname")
        if isinstance(nickname, str) and nickname != nickname.strip() and nickname_ok(nickname.strip()):
            judged = super().classify(json.dumps({**data, "nickname": nickname.strip()}))
            return judged if isinstance(judged, BadFrame) else parse_client_frame(data)  # bound as sent
        return super().classify(text)


class NoEchoToSender(Connection):
    """CHAT-001: a member's own messages are not broadcast back to it."""

    _own: list[str]

    async def on_user_msg(self, frame: ClientUserMsg) -> None:
        self.__dict__.setdefault("_own", []).append(frame.content)
        await super().on_user_msg(frame)

    def deliver(self, event: RoomEvent) -> None:
        own = self.__dict__.get("_own", [])
        if event.kind is EventKind.USER_MSG and event.content in own and self._pending is None:
            own.remove(event.content)
            self._last_seq = max(self._last_seq, event.seq)
            return
        super().deliver(event)


class ReordersASendersMessages(Connection):
    """CHAT-004: every third message of a member is held back briefly, so the next one overtakes it."""

    _sent: itertools.count[int]

    async def on_user_msg(self, frame: ClientUserMsg) -> None:
        counter = self.__dict__.setdefault("_sent", itertools.count(1))
        if next(counter) % 3 == 0:
            self._spawn(_later(HOLD_S, lambda: super(ReordersASendersMessages, self).on_user_msg(frame)))
            return
        await super().on_user_msg(frame)


class SlowBroadcast(Connection):
    """CHAT-006: every chat message is broadcast 1.3 s after it arrived (in order, but late)."""

    async def on_user_msg(self, frame: ClientUserMsg) -> None:
        self._spawn(_later(SLOW_BROADCAST_S, lambda: super(SlowBroadcast, self).on_user_msg(frame)))


class JoinsNameNobody(Connection):
    """PRES-001: a join names the neutral name, never the newcomer's nickname (leaves and messages do)."""

    def deliver(self, event: RoomEvent) -> None:
        if event.kind is EventKind.JOIN:
            event = dataclasses.replace(event, nickname=None, frames={})
        super().deliver(event)


class DuplicateLeaveOnClose(Connection):
    """PRES-005: a member that closes cleanly is announced as left twice."""

    async def announce_leave(self, reason: LeaveReason) -> None:
        first = not self._left and self._joined
        await super().announce_leave(reason)
        if first and reason is LeaveReason.CLOSE:
            draft = EventDraft(EventKind.LEAVE, nickname=self._nickname, reason=reason)
            await self.hub.broker.publish(self.room, draft)


class LeaveWithoutReason(DropsLeaveNotice):
    """PRES-007: leave notices carry no reason (the room is left as `DropsLeaveNotice` leaves it, then told)."""

    async def announce_leave(self, reason: LeaveReason) -> None:
        announce = not self._left and self._joined
        await super().announce_leave(reason)
        if announce:
            await self.hub.broker.publish(self.room, EventDraft(EventKind.LEAVE, nickname=self._nickname))


class NeverTruncated(Connection):
    """AI-010: an answer cut at maxOutputTokens is reported as ok."""

    def send_ai_done(self, status: AiStatus, id: str | None) -> None:
        super().send_ai_done(AiStatus.OK if status is AiStatus.TRUNCATED else status, id)


class AiFramesWithoutId(Connection):
    """AI-012: ai_chunk and ai_done never echo the ai_msg's id."""

    def send_ai_chunk(self, content: str, id: str | None) -> None:
        super().send_ai_chunk(content, None)

    def send_ai_done(self, status: AiStatus, id: str | None) -> None:
        super().send_ai_done(status, None)


class BusyAfterUpstreamFailure(Connection):
    """UP-007: after an answer failed upstream, every later question of that member is refused as ai_busy."""

    def send_ai_done(self, status: AiStatus, id: str | None) -> None:
        if status is AiStatus.ERROR:
            self.__dict__["_broken"] = True
        super().send_ai_done(status, id)

    async def on_ai_msg(self, frame: ClientAiMsg) -> None:
        if self.__dict__.get("_broken"):
            self.reject_ai(ErrorCode.AI_BUSY, frame.id)
            return
        await super().on_ai_msg(frame)


class ErrorTextsInEnglish(Connection):
    """ERR-002: error notices are always in English, whatever `lang` says."""

    def send_error(self, code: ErrorCode, *, id: str | None = None, retry_after: int | None = None) -> None:
        lang, self.lang = self.lang, Lang.EN
        try:
            super().send_error(code, id=id, retry_after=retry_after)
        finally:
            self.lang = lang


class CloseReasonVaries(Connection):
    """ERR-003: the close reason after a binary frame is not a fixed text (it counts the closes)."""

    closes: ClassVar[itertools.count[int]] = itertools.count(1)

    def on_binary(self) -> None:
        if self.outbox.closing:
            return
        self._leave_reason = LeaveReason.SERVER
        self.stop_ai("left")
        self.outbox.close(CloseCode.UNSUPPORTED_DATA, f"binary frame #{next(self.closes)}")


class HistoryItemLengthUnchecked(Connection):
    """LIMIT-002: a history item longer than max_content_chars is accepted (content and count still checked)."""

    def classify(self, text: str) -> ClientFrame | BadFrame:
        data = _object(text) or {}
        history = data.get("history")
        if data.get("type") == "ai_msg" and isinstance(history, list):
            trimmed = [
                {**h, "content": h["content"][: self.max_chars]}
                if isinstance(h, dict) and isinstance(h.get("content"), str)
                else h
                for h in history
            ]
            judged = super().classify(json.dumps({**data, "history": trimmed}))
            return judged if isinstance(judged, BadFrame) else parse_client_frame(data)  # forwarded whole
        return super().classify(text)


class FloodClosedWith1011(Connection):
    """LIMIT-004: a persistent flooder is closed with 1011 instead of 1008."""

    def on_rate_limited(self, text: str, verdict: Verdict) -> None:
        if verdict.flood:
            self.close_soon(CloseCode.INTERNAL_ERROR, LeaveReason.SERVER)
            return
        super().on_rate_limited(text, verdict)


class FullRoomWithoutNotice(Connection):
    """LIMIT-006: a connection over room_capacity is closed with 1013 without being told room_full."""

    def send_error(self, code: ErrorCode, *, id: str | None = None, retry_after: int | None = None) -> None:
        if code is not ErrorCode.ROOM_FULL:
            super().send_error(code, id=id, retry_after=retry_after)


class RefusesAQuickReconnect(Connection):
    """RECON-001: a nickname whose connection dropped less than 5 s ago is refused when it comes back."""

    dropped: ClassVar[dict[tuple[str, str | None], float]] = {}

    async def enter(self) -> bool:
        if time.monotonic() - self.dropped.get((self.room, self._nickname), -60.0) < 5.0:
            self.refuse(ErrorCode.ROOM_FULL)
            return False
        return await super().enter()

    async def finish(self, reason: LeaveReason) -> None:
        if reason is LeaveReason.DROP:
            self.dropped[(self.room, self._nickname)] = time.monotonic()
        await super().finish(reason)


class ReannouncesAReconnectedName(Connection):
    """RECON-003: when a nickname that left lately comes back, its old connection is announced as left again."""

    left: ClassVar[dict[tuple[str, str | None], float]] = {}

    async def announce_leave(self, reason: LeaveReason) -> None:
        self.left[(self.room, self._nickname)] = time.monotonic()
        await super().announce_leave(reason)

    def welcome_frame(self, joined: Joined) -> Any:
        if time.monotonic() - self.left.get((self.room, self._nickname), -60.0) < 10.0:  # just joined again
            draft = EventDraft(EventKind.LEAVE, nickname=self._nickname, reason=LeaveReason.DROP)
            self._spawn(_later(0.5, lambda: self.hub.broker.publish(self.room, draft)))
        return super().welcome_frame(joined)


async def _later(seconds: float, then: Any) -> None:
    await asyncio.sleep(seconds)
    await _maybe_await(then())


async def _maybe_await(value: Any) -> None:
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        await value


def _bad(code: ErrorCode, data: dict[str, Any], requirement_id: str, why: str) -> BadFrame:
    """The verdict a defect hands back in place of the spec's classifier."""
    return BadFrame(code, data, FrameVerdict((Violation(requirement_id, why),), data, code))


def _object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class _HoldAfterFirst:
    """An outbox stand-in: the first frame (the welcome) goes out, later ones wait for `release`."""

    def __init__(self, outbox: Any) -> None:
        self._outbox, self._held, self._first = outbox, list[Any](), True

    def push(self, frame: Any) -> None:
        if self._first:
            self._first = False
            self._outbox.push(frame)
        else:
            self._held.append(frame)

    def release(self) -> Any:
        for frame in self._held:
            self._outbox.push(frame)
        return self._outbox

    def __getattr__(self, name: str) -> Any:
        return getattr(self._outbox, name)


class SlowAfterWelcome(Connection):
    """Not a defect: correct, but everything after the welcome (the replay, the newcomer's own join) comes
    `AFTER_WELCOME_S` later, as from a server that writes frame by frame. A check that reads a verdict right after
    the welcome decides from a race against it (tests/conformance/test_races.py)."""

    async def enter(self) -> bool:
        holding = _HoldAfterFirst(self.outbox)
        self.outbox = holding  # type: ignore[assignment]
        try:
            entered = await super().enter()
            await asyncio.sleep(AFTER_WELCOME_S)
        finally:
            self.outbox = holding.release()
        return entered
