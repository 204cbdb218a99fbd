"""The compact encoding of room events on Redis: serialized once by the publisher, parsed once per instance.

A message is one JSON object. The publisher serializes only the fragment it knows (the draft, its member id and
instance); the Lua script wraps it with `s` (seq), `t` (ts) and, for presence, `c` (count), so nothing is
serialized twice and nobody re-encodes. Each receiving instance parses it once into a `RoomEvent`, which renders
one wire frame per language for all local members (`RoomEvent.frame`).

    s seq   t ts   c count   k kind (m user_msg, j join, l leave, r rename: no seq, updates mirrors only)
    n nickname (null: the neutral name)   x content   i client id   r leave reason
    m member id   o origin instance   q 1: the origin instance already delivered it (outage reconciliation)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from roomwire.reference.rooms.broker import EventDraft, EventKind, RoomEvent
from roomwire.spec.codes import LeaveReason

_KIND = {EventKind.USER_MSG: "m", EventKind.JOIN: "j", EventKind.LEAVE: "l"}
_KIND_OF = {"m": EventKind.USER_MSG, "j": EventKind.JOIN, "l": EventKind.LEAVE}
RENAME = "r"


def _fragment(fields: dict[str, Any]) -> str:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))[1:-1]


def nickname_json(nickname: str | None) -> str:
    """How the members hash stores a nickname (JSON, so the reaper's Lua can paste it into a message)."""
    return json.dumps(nickname, ensure_ascii=False)


def body(draft: EventDraft, member: str | None, origin: str, *, quiet: bool = False) -> str:
    """The fragment for `draft`; the script adds `s`, `t` and `c`."""
    fields: dict[str, Any] = {"k": _KIND[draft.kind], "n": draft.nickname}
    if draft.content is not None:
        fields["x"] = draft.content
    if draft.id is not None:
        fields["i"] = draft.id
    if draft.reason is not None:
        fields["r"] = draft.reason.value
    if member is not None:
        fields["m"] = member
    fields["o"] = origin
    if quiet:
        fields["q"] = 1
    return _fragment(fields)


def rename_message(member: str, nickname: str | None) -> str:
    return "{" + _fragment({"k": RENAME, "m": member, "n": nickname}) + "}"


@dataclass(frozen=True, slots=True)
class Incoming:
    """A decoded message: the event (None for a rename), and what the instances need besides it."""

    event: RoomEvent | None
    member: str | None
    nickname: str | None
    origin: str | None
    quiet: bool

    @property
    def seq(self) -> int:
        return self.event.seq if self.event is not None else 0


def decode(room: str, data: bytes | str) -> Incoming:
    """Parse one message of `room`.

    Raises:
        ValueError: not a message of this encoding (another program wrote to our channel).
    """
    fields = json.loads(data)
    kind = fields["k"]
    nickname = fields.get("n")
    if kind == RENAME:
        return Incoming(None, fields["m"], nickname, None, False)
    reason = fields.get("r")
    event = RoomEvent(
        room=room,
        kind=_KIND_OF[kind],
        seq=int(fields["s"]),
        ts=int(fields["t"]),
        nickname=nickname,
        content=fields.get("x"),
        id=fields.get("i"),
        count=fields.get("c"),
        reason=LeaveReason(reason) if reason is not None else None,
    )
    return Incoming(event, fields.get("m"), nickname, fields.get("o"), bool(fields.get("q")))
