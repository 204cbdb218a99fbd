"""Default human texts of `system` frames, in Korean (the default, as in the seed) and English (SPEC.md §6, §9).

These are protocol texts: the leave line is the seed's own (`f"{nickname}가 퇴장했습니다."`). A server may
use texts of its own (ERR-002), but never texts that include upstream error bodies (UP-008).
"""

from __future__ import annotations

from enum import StrEnum

from roomwire.spec.codes import ErrorCode, NoticeCode, SystemEvent


class Lang(StrEnum):
    KO = "ko"
    EN = "en"


DEFAULT_LANG = Lang.KO

#: The name of a connection that never gave a nickname (IDENT-003); the seed's fallback is '누군가'.
NEUTRAL_NAME = {Lang.KO: "누군가", Lang.EN: "Someone"}

_EVENT_TEXTS: dict[Lang, dict[SystemEvent, str]] = {
    Lang.KO: {
        SystemEvent.WELCOME: "{room} 방에 연결되었습니다.",
        SystemEvent.JOIN: "{nickname}가 입장했습니다.",
        SystemEvent.LEAVE: "{nickname}가 퇴장했습니다.",
    },
    Lang.EN: {
        SystemEvent.WELCOME: "Connected to room {room}.",
        SystemEvent.JOIN: "{nickname} joined.",
        SystemEvent.LEAVE: "{nickname} left.",
    },
}

_CODE_TEXTS: dict[Lang, dict[ErrorCode | NoticeCode, str]] = {
    Lang.KO: {
        ErrorCode.BAD_JSON: "메시지를 읽을 수 없습니다 (JSON 형식이 아닙니다).",
        ErrorCode.BAD_FRAME: "메시지 형식이 올바르지 않습니다.",
        ErrorCode.UNKNOWN_TYPE: "지원하지 않는 메시지 종류입니다.",
        ErrorCode.TOO_LONG: "메시지가 너무 깁니다 (최대 {max}자).",
        ErrorCode.RATE_LIMITED: "메시지를 너무 빨리 보내고 있습니다. {s}초 후에 다시 시도해 주세요.",
        ErrorCode.AI_BUSY: "AI가 아직 이전 질문에 답하고 있습니다.",
        ErrorCode.AI_QUOTA: "AI 요청이 많습니다. {s}초 후에 다시 시도해 주세요.",
        ErrorCode.UPSTREAM_RATE_LIMITED: "AI 사용 한도를 초과했습니다. {s}초 후에 다시 시도해 주세요.",
        ErrorCode.UPSTREAM_ERROR: "AI 응답 중 오류가 발생했습니다. 잠시 후 다시 시도해 주세요.",
        ErrorCode.UPSTREAM_TIMEOUT: "AI 응답이 너무 늦어 중단했습니다.",
        ErrorCode.AI_BLOCKED: "AI가 이 질문에는 답할 수 없습니다.",
        ErrorCode.AI_INCOMPLETE: "AI 응답이 중간에 끊겼습니다.",
        ErrorCode.AI_EMPTY: "AI가 답을 쓰기 전에 답변 길이 한도에 도달했습니다.",
        ErrorCode.ROOM_FULL: "방이 가득 찼습니다.",
        ErrorCode.TOO_MANY_CONNECTIONS: "연결이 너무 많습니다.",
        NoticeCode.SERVER_RESTART: "서버가 재시작합니다. 잠시 후 다시 연결됩니다.",
        NoticeCode.DEGRADED: "일부 기능이 잠시 제한됩니다.",
        NoticeCode.RESTORED: "모든 기능이 복구되었습니다.",
    },
    Lang.EN: {
        ErrorCode.BAD_JSON: "Could not read that message (not JSON).",
        ErrorCode.BAD_FRAME: "That message is malformed.",
        ErrorCode.UNKNOWN_TYPE: "Unsupported message type.",
        ErrorCode.TOO_LONG: "Message too long (at most {max} characters).",
        ErrorCode.RATE_LIMITED: "You are sending too fast. Try again in {s} s.",
        ErrorCode.AI_BUSY: "The AI is still answering your previous question.",
        ErrorCode.AI_QUOTA: "The AI is busy. Try again in {s} s.",
        ErrorCode.UPSTREAM_RATE_LIMITED: "AI quota exceeded. Try again in {s} s.",
        ErrorCode.UPSTREAM_ERROR: "The AI failed to answer. Please try again later.",
        ErrorCode.UPSTREAM_TIMEOUT: "The AI took too long to answer.",
        ErrorCode.AI_BLOCKED: "The AI cannot answer this question.",
        ErrorCode.AI_INCOMPLETE: "The AI answer was cut off.",
        ErrorCode.AI_EMPTY: "The AI reached its length limit before writing any answer.",
        ErrorCode.ROOM_FULL: "This room is full.",
        ErrorCode.TOO_MANY_CONNECTIONS: "Too many connections from your address.",
        NoticeCode.SERVER_RESTART: "The server is restarting; reconnecting shortly.",
        NoticeCode.DEGRADED: "Some features are temporarily limited.",
        NoticeCode.RESTORED: "All features are back.",
    },
}


def neutral_name(lang: Lang = DEFAULT_LANG) -> str:
    return NEUTRAL_NAME[lang]


def event_text(event: SystemEvent, lang: Lang = DEFAULT_LANG, *, nickname: str = "", room: str = "") -> str:
    """The `content` of a welcome, join or leave frame."""
    return _EVENT_TEXTS[lang][event].format(nickname=nickname, room=room)


def code_text(
    code: ErrorCode | NoticeCode, lang: Lang = DEFAULT_LANG, *, retry_after: int = 0, max_chars: int = 0
) -> str:
    """The `content` of an error or notice frame; `retry_after` and `max_chars` fill `{s}` and `{max}`."""
    return _CODE_TEXTS[lang][code].format(s=retry_after, max=max_chars)
