"""Names the protocol gives to events, errors, statuses and close codes (SPEC.md §6, §7, §9).

Every value here is wire vocabulary: changing one is a protocol change.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class FrameType(StrEnum):
    USER_MSG = "user_msg"
    AI_MSG = "ai_msg"
    PING = "ping"
    AI_CHUNK = "ai_chunk"
    AI_DONE = "ai_done"
    SYSTEM = "system"
    PONG = "pong"


CLIENT_FRAME_TYPES = frozenset({FrameType.USER_MSG, FrameType.AI_MSG, FrameType.PING})
SERVER_FRAME_TYPES = frozenset(
    {FrameType.USER_MSG, FrameType.AI_CHUNK, FrameType.AI_DONE, FrameType.SYSTEM, FrameType.PONG}
)


class SystemEvent(StrEnum):
    WELCOME = "welcome"
    JOIN = "join"
    LEAVE = "leave"
    ERROR = "error"
    NOTICE = "notice"


class LeaveReason(StrEnum):
    CLOSE = "close"  # a close frame arrived
    DROP = "drop"  # the TCP connection ended without one
    TIMEOUT = "timeout"  # no pong in time (PRES-004)
    SERVER = "server"  # the server closed it (limits, slow consumer, shutdown)


class ErrorCode(StrEnum):
    """Codes of `system` frames with `event: "error"` (SPEC.md §9)."""

    BAD_JSON = "bad_json"
    BAD_FRAME = "bad_frame"
    UNKNOWN_TYPE = "unknown_type"
    TOO_LONG = "too_long"
    RATE_LIMITED = "rate_limited"
    AI_BUSY = "ai_busy"
    AI_QUOTA = "ai_quota"
    UPSTREAM_RATE_LIMITED = "upstream_rate_limited"
    UPSTREAM_ERROR = "upstream_error"
    UPSTREAM_TIMEOUT = "upstream_timeout"
    AI_BLOCKED = "ai_blocked"
    AI_INCOMPLETE = "ai_incomplete"
    AI_EMPTY = "ai_empty"
    ROOM_FULL = "room_full"
    TOO_MANY_CONNECTIONS = "too_many_connections"


class NoticeCode(StrEnum):
    """Codes of `system` frames with `event: "notice"` (SPEC.md §9)."""

    SERVER_RESTART = "server_restart"
    DEGRADED = "degraded"
    RESTORED = "restored"


#: Error codes that always carry `retry_after` (ERR-001).
RETRY_AFTER_CODES = frozenset({ErrorCode.RATE_LIMITED, ErrorCode.AI_QUOTA, ErrorCode.UPSTREAM_RATE_LIMITED})


class AiStatus(StrEnum):
    """`ai_done.status` (SPEC.md §7)."""

    OK = "ok"
    TRUNCATED = "truncated"
    BLOCKED = "blocked"
    ERROR = "error"
    REJECTED = "rejected"


class CloseCode(IntEnum):
    """RFC 6455 §7.4.1 close codes as SPEC.md §9 uses them."""

    NORMAL = 1000
    GOING_AWAY = 1001
    UNSUPPORTED_DATA = 1003  # INPUT-004: binary frame
    NO_STATUS = 1005  # never sent; what a receiver reports when a close frame had no code
    ABNORMAL = 1006  # never sent; the connection ended without a close frame
    INVALID_PAYLOAD = 1007  # INPUT-005: invalid UTF-8
    POLICY_VIOLATION = 1008  # LIMIT-004: persistent flood
    MESSAGE_TOO_BIG = 1009  # LIMIT-001
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012  # RECON-002
    TRY_AGAIN_LATER = 1013  # FLOW-002, LIMIT-006


class Capability(StrEnum):
    PING = "ping"
    RESUME = "resume"
