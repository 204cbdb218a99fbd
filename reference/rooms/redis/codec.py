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
from json.encoder import encode_basestring
from typing import Any

from roomwire.reference.rooms.broker import EventDraft, EventKind, RoomEvent
from roomwire.spec.codes import LeaveReason

_KIND = {EventKind.USER_MSG: "m", EventKind.JOIN: "j", EventKind.LEAVE: "l"}
_KIND_OF = {"m": EventKind.USER_MSG, "j": EventKind.JOIN, "l": EventKind.LEAVE}
RENAME = "r"


def _string(value: str | None) -> str:
    """A JSON string literal (non-ASCII kept) or `null`: C's `encode_basestring`, with no encoder to build."""
    return "null" if value is None else encode_basestring(value)


def _utf8(text: str) -> bytes:
    """UTF-8, with an unpaired surrogate (valid JSON from a client: `"\\ud800"`) written back as its JSON escape:
    it only ever stands inside a JSON string here, and Redis takes bytes, not text."""
    return text.encode("utf-8", "backslashreplace")


def nickname_json(nickname: str | None) -> str:
    """How the members hash stores a nickname (JSON, so the reaper's Lua can paste it into a message)."""
    return _utf8(_string(nickname)).decode()


def body(draft: EventDraft, member: str | None, origin: str, *, quiet: bool = False) -> bytes:
    """The fragment for `draft` (`"k":…,"n":…,…`, no braces); the script adds `s`, `t` and `c`."""
    parts = ['"k":"', _KIND[draft.kind], '","n":', _string(draft.nickname)]
    if draft.content is not None:
        parts += (',"x":', encode_basestring(draft.content))
    if draft.id is not None:
        parts += (',"i":', encode_basestring(draft.id))
    if draft.reason is not None:
        parts += (',"r":"', draft.reason.value, '"')
    if member is not None:
        parts += (',"m":"', member, '"')  # member and instance ids are hex digits, a dot and digits
    parts += (',"o":"', origin, '"')
    if quiet:
        parts.append(',"q":1')
    return _utf8("".join(parts))


def rename_message(member: str, nickname: str | None) -> bytes:
    return _utf8(f'{{"k":"{RENAME}","m":"{member}","n":{_string(nickname)}}}')


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


def decode_all(room: str, data: bytes | str) -> list[Incoming]:
    """Parse one message of `room`'s channel: one event (an object) or a batch of them (an array, scripts.PUBLISH).

    Raises:
        ValueError: not a message of this encoding (another program wrote to our channel).
    """
    fields = json.loads(data)
    if isinstance(fields, list):
        return [_incoming(room, one) for one in fields]
    return [_incoming(room, fields)]


def decode(room: str, data: bytes | str) -> Incoming:
    """Parse one event of `room` (a history entry, a script's answer).

    Raises:
        ValueError: not a message of this encoding (another program wrote to our channel).
    """
    return _incoming(room, json.loads(data))


def _incoming(room: str, fields: Any) -> Incoming:
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
