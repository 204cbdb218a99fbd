"""The fast path of `validate.classify_client_frame`: vouch for the common valid client frame in microseconds.

The spec's schema validator costs about 300 µs per frame, more than the whole broadcast to a room of ten. So
`classify_client_frame` first asks `fast_client_frame`, which builds the frame's dataclass only for frames that
are certainly valid (it reads its patterns and bounds from the same schemas), and hands anything else to the
schema for the verdict and the error code. A false "no" costs time, never correctness; a false "yes" would be a
bug, and tests/spec/test_fastcheck.py checks with Hypothesis that there is none.

`fast_client_frame` is `fast_valid` and `parse_client_frame` in one pass, reading each field once: the frame's
dataclass, or None. `fast_valid` is the same predicate written plainly, which the tests hold it to. A configured
`max_content_chars` may be lower than the schemas' 2000: `over_length` checks that limit. `nickname_ok` and
`id_ok` are the schemas' own patterns (the reference's handshake checks a query's nickname with the first).
"""

from __future__ import annotations

import re
from typing import Any

from roomwire.spec.limits import MAX_HISTORY_ITEMS_IN_FRAME
from roomwire.spec.messages import ClientAiMsg, ClientFrame, ClientPing, ClientUserMsg, HistoryItem
from roomwire.spec.schemas import ecma_regex, schema

_DEFS = schema("common.schema.json")["$defs"]
_NICKNAME = re.compile(ecma_regex(_DEFS["nickname"]["pattern"]))
_NICKNAME_MIN = int(_DEFS["nickname"]["minLength"])
_NICKNAME_MAX = int(_DEFS["nickname"]["maxLength"])
_CLIENT_ID = re.compile(ecma_regex(_DEFS["client_id"]["pattern"]))
_CONTENT_MIN = int(_DEFS["content"]["minLength"])
_ROLES = frozenset(_DEFS["history_item"]["properties"]["role"]["enum"])
_ABSENT = object()


def nickname_ok(value: object) -> bool:
    """SPEC.md §4: 1-32 code points, no control characters, no leading or trailing whitespace."""
    return (
        isinstance(value, str)
        and _NICKNAME_MIN <= len(value) <= _NICKNAME_MAX
        and _NICKNAME.search(value) is not None  # as the spec's validator: re.search with ECMA-262's `$`
    )


def id_ok(value: object) -> bool:
    return isinstance(value, str) and _CLIENT_ID.search(value) is not None


def _optional(frame: dict[str, Any], name: str, check: Any) -> bool:
    value = frame.get(name, _ABSENT)
    return value is _ABSENT or bool(check(value))


def _content_ok(value: object, max_chars: int) -> bool:
    return type(value) is str and _CONTENT_MIN <= len(value) <= max_chars


def _history_ok(value: object, max_chars: int) -> bool:
    if type(value) is not list or len(value) > MAX_HISTORY_ITEMS_IN_FRAME:
        return False
    for item in value:
        if type(item) is not dict or item.get("role") not in _ROLES:
            return False
        content = item.get("content")
        if type(content) is not str or len(content) > max_chars:
            return False
    return True


def fast_valid(frame: dict[str, Any], max_chars: int) -> bool:
    """True only if `frame` is a valid client frame whose texts are at most `max_chars` (<= the schemas' cap)."""
    kind = frame.get("type")
    if kind == "ping":
        return _optional(frame, "id", id_ok)
    if kind != "user_msg" and kind != "ai_msg":
        return False
    if not _content_ok(frame.get("content"), max_chars):
        return False
    if not (_optional(frame, "nickname", nickname_ok) and _optional(frame, "id", id_ok)):
        return False
    return kind == "user_msg" or _optional(frame, "history", lambda h: _history_ok(h, max_chars))


def fast_client_frame(frame: dict[str, Any], max_chars: int) -> ClientFrame | None:
    """`parse_client_frame(frame)` when `fast_valid(frame, max_chars)`, else None, reading each field once."""
    kind = frame.get("type")
    id = frame.get("id", _ABSENT)
    if id is _ABSENT:
        id = None
    elif not id_ok(id):
        return None
    if kind == "ping":
        return ClientPing(id=id)
    if kind != "user_msg" and kind != "ai_msg":
        return None
    content = frame.get("content")
    if type(content) is not str or not _CONTENT_MIN <= len(content) <= max_chars:
        return None
    nickname = frame.get("nickname", _ABSENT)
    if nickname is _ABSENT:
        nickname = None
    elif not nickname_ok(nickname):
        return None
    if kind == "user_msg":
        return ClientUserMsg(content=content, nickname=nickname, id=id)
    history = frame.get("history", _ABSENT)
    if history is _ABSENT:
        return ClientAiMsg(content=content, id=id, nickname=nickname)
    if not _history_ok(history, max_chars):
        return None
    items = tuple(HistoryItem(role=item["role"], content=item["content"]) for item in history)
    return ClientAiMsg(content=content, history=items, id=id, nickname=nickname)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def may_hold_surrogate(text: str) -> bool:
    """Whether a frame's JSON text escapes a surrogate (`\\ud800`), which only the full check may accept.

    SPEC.md §2: a string holding an unpaired surrogate is not text and makes the frame invalid. The frame arrived
    as UTF-8, so only a `\\u` escape can put a surrogate in it; frames without one need no further look.
    """
    return _SURROGATE_ESCAPE.search(text) is not None


def over_length(frame: dict[str, Any], max_chars: int) -> bool:
    """LIMIT-002 for a configured limit below the schemas': is a `content` (or history item) longer?"""
    content = frame.get("content")
    if isinstance(content, str) and len(content) > max_chars:
        return True
    history = frame.get("history")
    return isinstance(history, list) and any(
        isinstance(item, dict) and isinstance(item.get("content"), str) and len(item["content"]) > max_chars
        for item in history
    )
