"""Predicates over received frames, lenient on purpose, and one-line summaries for evidence.

Predicates look at the parsed JSON (`Received.data`), not at the validated dataclass: a frame that breaks the
schema (a string `seq`, say) still counts as "the broadcast arrived" for CHAT-001, because its shape is
FRAME-001's business. Attributing each violation to its own requirement is what keeps one defect from failing
every check of a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from roomwire.spec.codes import SystemEvent
from roomwire.spec.protocol import Received
from roomwire.spec.texts import Lang, event_text

Predicate = Callable[[Received], bool]


def data(item: Received) -> dict[str, Any]:
    return item.data if isinstance(item.data, dict) else {}


def kind(item: Received) -> str | None:
    value = data(item).get("type")
    return value if isinstance(value, str) else None


def user_msg(content: str | None = None, *, containing: str | None = None) -> Predicate:
    """A user_msg broadcast, optionally with exactly `content` or with `containing` in its content."""

    def match(item: Received) -> bool:
        frame = data(item)
        text = frame.get("content")
        if frame.get("type") != "user_msg":
            return False
        if content is not None and text != content:
            return False
        return containing is None or (isinstance(text, str) and containing in text)

    return match


def system(event: str, *, nickname: str | None = None, code: str | None = None) -> Predicate:
    """A system frame with `event` (and the nickname or code when given)."""

    def match(item: Received) -> bool:
        frame = data(item)
        if frame.get("type") != "system" or frame.get("event") != event:
            return False
        if nickname is not None and frame.get("nickname") != nickname:
            return False
        return code is None or frame.get("code") == code

    return match


def _text_patterns(event: SystemEvent) -> list[tuple[str, str]]:
    """(prefix, suffix) of the default `content` of a join or leave in every language (SPEC.md §6)."""
    patterns = []
    for lang in Lang:
        prefix, _, suffix = event_text(event, lang, nickname="\0").partition("\0")
        patterns.append((prefix, suffix))
    return patterns


def presence_name(item: Received, event: str) -> str | None:
    """The nickname a join/leave notice names: its `nickname` field when it has an `event`, else the name inside
    the spec's default text of a system frame without `event` (the seed's leave is exactly that:
    `{"type":"system","content":"Bob가 퇴장했습니다."}`). The missing `event` is FRAME-004's failure; counting the
    notice anyway keeps it from failing every presence check as well."""
    frame = data(item)
    if frame.get("type") != "system":
        return None
    if "event" in frame:
        name = frame.get("nickname")
        return name if frame.get("event") == event and isinstance(name, str) else None
    content = frame.get("content")
    if not isinstance(content, str):
        return None
    for prefix, suffix in _text_patterns(SystemEvent(event)):
        if content.startswith(prefix) and content.endswith(suffix) and len(content) > len(prefix) + len(suffix):
            return content[len(prefix) : len(content) - len(suffix)]
    return None


def leave(nickname: str | None = None) -> Predicate:
    """A leave notice (for `nickname` when given); see `presence_name`."""
    return lambda item: (name := presence_name(item, "leave")) is not None and nickname in (None, name)


def join(nickname: str | None = None) -> Predicate:
    """A join notice (for `nickname` when given); see `presence_name`."""
    return lambda item: (name := presence_name(item, "join")) is not None and nickname in (None, name)


def error(code: str | None = None) -> Predicate:
    return system("error", code=code)


def any_error() -> Predicate:
    return system("error")


def ai_chunk() -> Predicate:
    return lambda item: kind(item) == "ai_chunk"


def ai_done() -> Predicate:
    return lambda item: kind(item) == "ai_done"


def pong() -> Predicate:
    return lambda item: kind(item) == "pong"


def ai_frame() -> Predicate:
    return lambda item: kind(item) in ("ai_chunk", "ai_done")


def any_frame() -> Predicate:
    return lambda item: True


def room_event() -> Predicate:
    """user_msg broadcasts and join/leave notices (SPEC.md: "room event")."""

    def match(item: Received) -> bool:
        frame = data(item)
        return frame.get("type") == "user_msg" or (
            frame.get("type") == "system" and frame.get("event") in ("join", "leave")
        )

    return match


def mentions(token: str) -> Predicate:
    """Any frame whose raw text contains `token` (used to prove that something did NOT arrive)."""
    return lambda item: token in item.raw


def either(*predicates: Predicate) -> Predicate:
    return lambda item: any(p(item) for p in predicates)


def summary(item: Received) -> str:
    """`#3 system/join nickname='A'`: enough to read a failure without the whole frame."""
    frame = data(item)
    if not frame:
        return f"#{item.index} {item.raw[:120]!r}"
    parts = [f"#{item.index} {frame.get('type')}"]
    if "event" in frame:
        parts[0] += f"/{frame['event']}"
    for name in ("code", "nickname", "status", "seq", "id", "reason"):
        if name in frame:
            parts.append(f"{name}={frame[name]!r}")
    content = frame.get("content")
    if isinstance(content, str):
        parts.append(f"content={content[:60]!r}{'…' if len(content) > 60 else ''}")
    return " ".join(parts)


def summarize(items: Iterable[Received], limit: int = 12) -> str:
    """What arrived, for the `actual` side of a SpecViolation."""
    listed = list(items)
    if not listed:
        return "nothing"
    shown = [summary(item) for item in listed[-limit:]]
    more = f"{len(listed) - limit} earlier frames and " if len(listed) > limit else ""
    return f"{more}{'; '.join(shown)}"
