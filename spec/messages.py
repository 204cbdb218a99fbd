"""The frames of SPEC.md §2 as frozen dataclasses, with `to_json` / `parse_*` and one encoder.

Parsing assumes a frame that `roomwire.spec.validate` accepted: the dataclasses carry the wire's meaning, the
schemas guard its shape. Fields the server adds over the seed (`seq`, `ts`, `event`, ...) are optional here,
as in the schemas, so that a seed frame parses too; the requirements demand them, not the types.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from roomwire.spec.codes import AiStatus, ErrorCode, FrameType, LeaveReason, NoticeCode, SystemEvent
from roomwire.spec.errors import LocalProtocolError
from roomwire.spec.limits import Limits
from roomwire.spec.texts import DEFAULT_LANG, Lang, code_text, event_text

JsonObject = dict[str, Any]
Role = Literal["user", "model"]


def _pruned(**fields: Any) -> JsonObject:
    """Drop absent (None) fields: the wire omits what it does not carry."""
    return {name: value for name, value in fields.items() if value is not None}


def encode(frame: ClientFrame | ServerFrame) -> str:
    """The frame as the compact JSON text sent on the wire (UTF-8 text, not \\u-escaped).

    SPEC.md §2 rejects client strings holding an unpaired surrogate escape (`"\\ud800"`), but a frame built
    from other data may still hold one; such a frame is sent with `\\u` escapes rather than failing to encode
    as UTF-8.
    """
    text = json.dumps(frame.to_json(), ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(frame.to_json(), separators=(",", ":"))
    return text


# --- client -> server -------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class HistoryItem:
    role: Role
    content: str

    def to_json(self) -> JsonObject:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, kw_only=True)
class ClientUserMsg:
    TYPE: ClassVar[FrameType] = FrameType.USER_MSG
    content: str
    nickname: str | None = None
    id: str | None = None

    def to_json(self) -> JsonObject:
        return _pruned(type=self.TYPE.value, nickname=self.nickname, content=self.content, id=self.id)


@dataclass(frozen=True, kw_only=True)
class ClientAiMsg:
    TYPE: ClassVar[FrameType] = FrameType.AI_MSG
    content: str
    history: tuple[HistoryItem, ...] = ()
    id: str | None = None
    nickname: str | None = None

    def to_json(self) -> JsonObject:
        return _pruned(
            type=self.TYPE.value,
            content=self.content,
            history=[item.to_json() for item in self.history],
            id=self.id,
            nickname=self.nickname,
        )


@dataclass(frozen=True, kw_only=True)
class ClientPing:
    TYPE: ClassVar[FrameType] = FrameType.PING
    id: str | None = None

    def to_json(self) -> JsonObject:
        return _pruned(type=self.TYPE.value, id=self.id)


ClientFrame = ClientUserMsg | ClientAiMsg | ClientPing


def parse_client_frame(data: JsonObject) -> ClientFrame:
    """A validated client frame as its dataclass; unknown fields are ignored (FRAME-002)."""
    kind = data.get("type")
    if kind == FrameType.USER_MSG:
        return ClientUserMsg(content=data["content"], nickname=data.get("nickname"), id=data.get("id"))
    if kind == FrameType.AI_MSG:
        history = tuple(HistoryItem(role=h["role"], content=h["content"]) for h in data.get("history", []))
        return ClientAiMsg(content=data["content"], history=history, id=data.get("id"), nickname=data.get("nickname"))
    if kind == FrameType.PING:
        return ClientPing(id=data.get("id"))
    raise LocalProtocolError(f"not a client frame type: {kind!r} (validate before parsing)")


# --- server -> client -------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ServerUserMsg:
    TYPE: ClassVar[FrameType] = FrameType.USER_MSG
    nickname: str
    content: str
    seq: int | None = None
    ts: int | None = None
    id: str | None = None

    def to_json(self) -> JsonObject:
        return _pruned(
            type=self.TYPE.value, nickname=self.nickname, content=self.content, seq=self.seq, ts=self.ts, id=self.id
        )


@dataclass(frozen=True, kw_only=True)
class AiChunk:
    TYPE: ClassVar[FrameType] = FrameType.AI_CHUNK
    content: str
    id: str | None = None

    def to_json(self) -> JsonObject:
        return _pruned(type=self.TYPE.value, content=self.content, id=self.id)


@dataclass(frozen=True, kw_only=True)
class AiDone:
    TYPE: ClassVar[FrameType] = FrameType.AI_DONE
    status: AiStatus | None = None
    id: str | None = None

    def to_json(self) -> JsonObject:
        return _pruned(type=self.TYPE.value, status=self.status.value if self.status else None, id=self.id)


@dataclass(frozen=True, kw_only=True)
class Pong:
    TYPE: ClassVar[FrameType] = FrameType.PONG
    id: str | None = None

    def to_json(self) -> JsonObject:
        return _pruned(type=self.TYPE.value, id=self.id)


@dataclass(frozen=True, kw_only=True)
class Resume:
    since: int
    replayed: int
    complete: bool

    def to_json(self) -> JsonObject:
        return {"since": self.since, "replayed": self.replayed, "complete": self.complete}


@dataclass(frozen=True, kw_only=True)
class System:
    """Every `system` frame; which fields are set depends on `event` (SPEC.md §6, §9)."""

    TYPE: ClassVar[FrameType] = FrameType.SYSTEM
    content: str
    event: SystemEvent | None = None
    nickname: str | None = None
    seq: int | None = None
    ts: int | None = None
    count: int | None = None
    reason: LeaveReason | None = None
    code: str | None = None  # an ErrorCode or NoticeCode value; a str so unknown codes from a server parse
    retry_after: int | None = None
    id: str | None = None
    room: str | None = None
    members: tuple[str, ...] | None = None
    limits: Limits | None = None
    capabilities: tuple[str, ...] | None = None
    resume: Resume | None = None
    extra: JsonObject = field(default_factory=dict, compare=False)  # unknown fields, kept for evidence

    def to_json(self) -> JsonObject:
        data = _pruned(
            type=self.TYPE.value,
            event=self.event.value if self.event else None,
            code=self.code,
            content=self.content,
            nickname=self.nickname,
            seq=self.seq,
            ts=self.ts,
            count=self.count,
            reason=self.reason.value if self.reason else None,
            retry_after=self.retry_after,
            id=self.id,
            room=self.room,
            members=list(self.members) if self.members is not None else None,
            limits=self.limits.to_json() if self.limits else None,
            capabilities=list(self.capabilities) if self.capabilities is not None else None,
            resume=self.resume.to_json() if self.resume else None,
        )
        if self.event is SystemEvent.WELCOME:
            data["nickname"] = self.nickname  # null when unbound: the welcome always says
        return data

    @property
    def is_room_event(self) -> bool:
        return self.event in (SystemEvent.JOIN, SystemEvent.LEAVE)

    # Constructors for the frames a server sends (the texts follow SPEC.md §6 and §9).

    @classmethod
    def welcome(
        cls,
        *,
        room: str,
        nickname: str | None,
        seq: int,
        members: tuple[str, ...],
        limits: Limits,
        capabilities: tuple[str, ...],
        resume: Resume | None = None,
        lang: Lang = DEFAULT_LANG,
    ) -> System:
        return cls(
            event=SystemEvent.WELCOME,
            content=event_text(SystemEvent.WELCOME, lang, room=room),
            room=room,
            nickname=nickname,
            seq=seq,
            members=members,
            limits=limits,
            capabilities=capabilities,
            resume=resume,
        )

    @classmethod
    def presence(
        cls,
        event: Literal[SystemEvent.JOIN, SystemEvent.LEAVE],
        *,
        nickname: str,
        seq: int,
        ts: int,
        count: int | None = None,
        reason: LeaveReason | None = None,
        lang: Lang = DEFAULT_LANG,
    ) -> System:
        return cls(
            event=event,
            content=event_text(event, lang, nickname=nickname),
            nickname=nickname,
            seq=seq,
            ts=ts,
            count=count,
            reason=reason,
        )

    @classmethod
    def error(
        cls,
        code: ErrorCode,
        *,
        lang: Lang = DEFAULT_LANG,
        id: str | None = None,
        retry_after: int | None = None,
        max_chars: int = 0,
    ) -> System:
        return cls(
            event=SystemEvent.ERROR,
            code=code.value,
            content=code_text(code, lang, retry_after=retry_after or 0, max_chars=max_chars),
            id=id,
            retry_after=retry_after,
        )

    @classmethod
    def notice(cls, code: NoticeCode, *, lang: Lang = DEFAULT_LANG) -> System:
        return cls(event=SystemEvent.NOTICE, code=code.value, content=code_text(code, lang))


@dataclass(frozen=True, kw_only=True)
class UnknownFrame:
    """A server frame whose `type` this version does not define; clients ignore it (FRAME-003)."""

    data: JsonObject

    def to_json(self) -> JsonObject:
        return dict(self.data)


ServerFrame = ServerUserMsg | AiChunk | AiDone | System | Pong | UnknownFrame

_SYSTEM_FIELDS = frozenset(
    {"type", "content", "event", "nickname", "seq", "ts", "count", "reason", "code", "retry_after", "id", "room"}
    | {"members", "limits", "capabilities", "resume"}
)


def _parse_system(data: JsonObject) -> System:
    resume = data.get("resume")
    members = data.get("members")
    capabilities = data.get("capabilities")
    limits = data.get("limits")
    return System(
        content=data["content"],
        event=SystemEvent(data["event"]) if "event" in data else None,
        nickname=data.get("nickname"),
        seq=data.get("seq"),
        ts=data.get("ts"),
        count=data.get("count"),
        reason=LeaveReason(data["reason"]) if "reason" in data else None,
        code=data.get("code"),
        retry_after=data.get("retry_after"),
        id=data.get("id"),
        room=data.get("room"),
        members=tuple(members) if members is not None else None,
        limits=Limits.from_json(limits) if isinstance(limits, dict) else None,
        capabilities=tuple(capabilities) if capabilities is not None else None,
        resume=Resume(**{k: resume[k] for k in ("since", "replayed", "complete")}) if resume else None,
        extra={k: v for k, v in data.items() if k not in _SYSTEM_FIELDS},
    )


def parse_server_frame(data: JsonObject) -> ServerFrame:
    """A validated server frame as its dataclass; an unknown `type` becomes `UnknownFrame` (FRAME-003)."""
    kind = data.get("type")
    if kind == FrameType.USER_MSG:
        return ServerUserMsg(
            nickname=data["nickname"],
            content=data["content"],
            seq=data.get("seq"),
            ts=data.get("ts"),
            id=data.get("id"),
        )
    if kind == FrameType.AI_CHUNK:
        return AiChunk(content=data["content"], id=data.get("id"))
    if kind == FrameType.AI_DONE:
        return AiDone(status=AiStatus(data["status"]) if "status" in data else None, id=data.get("id"))
    if kind == FrameType.SYSTEM:
        return _parse_system(data)
    if kind == FrameType.PONG:
        return Pong(id=data.get("id"))
    return UnknownFrame(data=data)
