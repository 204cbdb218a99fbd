"""Map every way an upstream (Gemini) call can fail to the fixed notice SPEC.md §8 gives it.

Nothing here ever reads, logs or returns upstream error *text*: a Gemini error body can echo the API key
(`Consumer 'api_key:AIza…' has been suspended`), and `str()` of the SDK's `APIError` holds the whole body
(UP-008, SEC-003). What leaves this module is an error code, an `ai_done` status, a retry delay, and a one-line
summary made only of the HTTP status, Google's status name (an enum word) and exception class names.

`ai.py` (the only module that imports google-genai) turns the SDK's `APIError` into `UpstreamHttpError`, which
carries the parsed body and no message; transport failures (httpx, httpx2, aiohttp, OSError) arrive as they are.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from roomwire.spec.codes import AiStatus, ErrorCode

DEFAULT_RETRY_AFTER = 60  # UP-001: when RetryInfo is absent
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)s\s*$")
_STATUS_WORD = re.compile(r"^[A-Z][A-Z_]{0,40}$")
RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"


class UpstreamHttpError(Exception):
    """Upstream answered an HTTP error (or an error event inside the stream). Never carries the message text."""

    def __init__(self, code: int | None, status: str | None, details: Any) -> None:
        super().__init__(f"upstream HTTP error {code}")
        self.code = code
        self.status = status
        self.details = details


class UpstreamTimeout(Exception):
    """No first chunk, or no next chunk, within `ai_timeout_s` (UP-004)."""


class UpstreamTransportError(Exception):
    """A transport failure that happened elsewhere (the AI worker process), named as `classify` names one here:
    the exception's top package and class (`aiohttp.ClientPayloadError`), never its text."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind

    @staticmethod
    def kind_of(exc: BaseException) -> str:
        return f"{type(exc).__module__.split('.')[0]}.{type(exc).__name__}"


@dataclass(frozen=True)
class Failure:
    """How one failed AI answer ends: the notice, the `ai_done` status, and what the log may say."""

    code: ErrorCode
    status: AiStatus
    outcome: str  # metrics label and log word: rate_limited, http_error, transport, timeout, ...
    summary: str  # safe for logs: no upstream text
    retry_after: int | None = None


def parse_duration(value: object) -> int | None:
    """A protobuf Duration ("58s", "1.5s", or {"seconds": 58, "nanos": 5e8}) in whole seconds, rounded up."""
    seconds: float | None = None
    if isinstance(value, str):
        match = _DURATION.match(value)
        seconds = float(match.group(1)) if match else None
    elif isinstance(value, Mapping):
        whole, nanos = value.get("seconds", 0), value.get("nanos", 0)
        if isinstance(whole, (int, str)) and isinstance(nanos, (int, float)):
            try:
                seconds = float(whole) + float(nanos) / 1e9
            except ValueError:
                seconds = None
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    return max(1, math.ceil(seconds))


def retry_after_from(details: Any) -> int:
    """UP-001: `RetryInfo.retryDelay` from `{'error': {'details': [...]}}`, rounded up; 60 when absent."""
    error = details.get("error") if isinstance(details, Mapping) else None
    items = error.get("details") if isinstance(error, Mapping) else None
    if isinstance(items, list):
        for item in items:
            if isinstance(item, Mapping) and str(item.get("@type", "")).endswith("google.rpc.RetryInfo"):
                parsed = parse_duration(item.get("retryDelay"))
                if parsed is not None:
                    return parsed
    return DEFAULT_RETRY_AFTER


def _safe_status(status: object) -> str:
    """Google's status is an enum word (RESOURCE_EXHAUSTED); anything else (a reason phrase, text) is dropped."""
    return status if isinstance(status, str) and _STATUS_WORD.match(status) else "-"


def from_http_error(error: UpstreamHttpError) -> Failure:
    """UP-001 for 429 / RESOURCE_EXHAUSTED, UP-002 for every other status."""
    status = _safe_status(error.status)
    summary = f"upstream HTTP {error.code} {status}"
    if error.code == 429 or status == "RESOURCE_EXHAUSTED":
        retry_after = retry_after_from(error.details)
        return Failure(
            ErrorCode.UPSTREAM_RATE_LIMITED,
            AiStatus.ERROR,
            "rate_limited",
            f"{summary}, retry in {retry_after}s",
            retry_after,
        )
    return Failure(ErrorCode.UPSTREAM_ERROR, AiStatus.ERROR, "http_error", summary)


def classify(exc: BaseException) -> Failure:
    """The failure for any exception raised while calling upstream or reading its stream (never re-raises)."""
    if isinstance(exc, UpstreamHttpError):
        return from_http_error(exc)
    if isinstance(exc, (UpstreamTimeout, TimeoutError)):
        return Failure(ErrorCode.UPSTREAM_TIMEOUT, AiStatus.ERROR, "timeout", "upstream sent nothing in time")
    # UP-002/UP-003: a cut stream (httpx/httpx2 RemoteProtocolError, aiohttp ClientPayloadError), a refused
    # connection, an unparsable chunk (the SDK's UnknownApiResponseError is a ValueError), or anything else.
    kind = exc.kind if isinstance(exc, UpstreamTransportError) else UpstreamTransportError.kind_of(exc)
    return Failure(ErrorCode.UPSTREAM_ERROR, AiStatus.ERROR, "transport", f"upstream failed: {kind}")


#: finishReason values that mean "upstream refused to answer" (UP-005).
BLOCKED_REASONS = frozenset({"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY"})
#: promptFeedback.blockReason values that block nothing: the enum's default, sent by no real block.
UNSPECIFIED_BLOCKS = frozenset({"BLOCKED_REASON_UNSPECIFIED", "BLOCK_REASON_UNSPECIFIED"})


def empty_answer() -> Failure:
    """AI-010: upstream stopped at MAX_TOKENS before any text. Not an error of upstream: the answer is `truncated`,
    announced with `ai_empty` so that the asker sees a line for it."""
    return Failure(ErrorCode.AI_EMPTY, AiStatus.TRUNCATED, "empty", "upstream reached MAX_TOKENS before any text")


def from_finish(finish_reason: str | None, block_reason: str | None) -> Failure | None:
    """How a stream that ended without an exception ends: None for STOP/MAX_TOKENS, else the failure.

    UP-005: a prompt block is `promptFeedback.blockReason` with no candidates, hence no finishReason at all; it is
    `ai_blocked`, not the `ai_incomplete` of a stream that merely stopped.
    """
    if block_reason in UNSPECIFIED_BLOCKS:
        block_reason = None
    if block_reason or finish_reason in BLOCKED_REASONS:
        word = _safe_status(block_reason or finish_reason)
        return Failure(ErrorCode.AI_BLOCKED, AiStatus.BLOCKED, "blocked", f"upstream blocked the answer ({word})")
    if finish_reason is None:  # UP-006: a clean end without any finishReason
        return Failure(ErrorCode.AI_INCOMPLETE, AiStatus.ERROR, "incomplete", "upstream stream ended unfinished")
    if finish_reason in ("STOP", "MAX_TOKENS"):
        return None
    word = _safe_status(finish_reason)
    return Failure(ErrorCode.UPSTREAM_ERROR, AiStatus.ERROR, "unusable", f"upstream finished with {word}")
