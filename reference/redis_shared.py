"""The healthy path of the Redis broker: join, publish and rename as one Lua script or command each.

`join` subscribes to the room's channel first (and waits for Redis to confirm), then reads `seq`, members and
history and registers the member in one script: every event published after that `seq` reaches the member
(CONN-004, the ordering contract of broker.py), and capacity counts the members of every instance (LIMIT-006).

`publish` serializes the draft once (redis_codec.body); the script adds `seq`, `ts` and `count` and publishes.

A leave is announced by whoever removes the member from the room's hash (`Claim`), so it is announced once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from roomwire.reference.broker import EventDraft, EventKind, Joined, Member, RoomEvent
from roomwire.reference.redis_codec import body, decode, nickname_json, rename_message
from roomwire.reference.redis_link import LOST
from roomwire.reference.redis_room import LocalRoom, kept_range
from roomwire.spec.codes import CloseCode, LeaveReason

if TYPE_CHECKING:
    from roomwire.reference.redis_broker import RedisBroker


@runtime_checkable
class Evictable(Protocol):
    """What `Connection` offers besides `Member`: the broker closes a member whose leave others announced."""

    def close_soon(self, code: CloseCode, reason: LeaveReason, *, discard: bool = False) -> None: ...


@dataclass(slots=True)
class Claim:
    """Links a `join`/`leave` to the `publish` that announces it, in the same task (connection.py does both).

    `state` of a leave: `claimed` (we removed it from Redis: announce), `gone` (someone else announced it:
    stay silent, PRES-005), `deferred` (Redis was lost: decide when it is back), `local` (never announced to
    other instances).
    """

    room: str
    member: str
    state: str


def nickname_of(raw: bytes) -> str | None:
    value = json.loads(raw)
    return value if isinstance(value, str) else None


def silent(room: str, draft: EventDraft) -> RoomEvent:
    """What `publish` returns for a leave it does not announce (the caller does not use it)."""
    return RoomEvent(room=room, kind=draft.kind, seq=0, ts=0, nickname=draft.nickname)


async def join(
    broker: RedisBroker, local: LocalRoom, member: Member, member_id: str, capacity: int, since: int | None
) -> Joined | None:
    """Join through Redis; None when the room is full.

    Raises:
        one of `LOST`: Redis is unreachable (the broker then joins locally).
    """
    assert broker.link is not None
    if not local.subscribed:
        await broker.link.subscribe([broker.keys.channel(local.name)])  # before seq is read: CONN-004
        local.subscribed = True
    keys = [*broker.keys.room_keys(local.name), broker.keys.instance_rooms(broker.me)]
    stored = nickname_json(member.nickname)
    reply = await broker.call("join", keys, member_id, stored, capacity, int(since is not None), local.name)
    if reply[0] == 0:
        return None  # LIMIT-006, counted across instances
    seq, flat, history = int(reply[1]), reply[2], reply[3]
    names: list[str | None] = []
    local.remote.clear()
    for index in range(0, len(flat), 2):
        other, nickname = flat[index].decode(), nickname_of(flat[index + 1])
        names.append(nickname)
        if other not in local.ids:
            local.remote[other] = nickname
    if local.start(seq):
        broker.spawn(broker.repair(local))
    if since is None:
        return Joined(seq=seq, members=tuple(names))
    events = [item.event for item in (decode(local.name, raw) for raw in history) if item.event is not None]
    replay, complete = kept_range(events, since, seq)  # RECON-004
    return Joined(seq=seq, members=tuple(names), replay=replay, complete=complete)


async def publish(broker: RedisBroker, room: str, draft: EventDraft, claim: Claim | None) -> RoomEvent:
    """Next `seq`, history and PUBLISH in one script (SPEC §5).

    Raises:
        one of `LOST`: Redis is unreachable (the broker then delivers locally).
    """
    member = claim.member if claim is not None else None
    fragment = body(draft, member, broker.me)
    if claim is not None and claim.state == "deferred":  # left while Redis was lost, which is back now
        message = await leave_if_present(broker, room, member or "", fragment, store=True)
        if message is None:
            return silent(room, draft)
    else:
        presence = int(draft.kind is not EventKind.USER_MSG)
        keys, channel = broker.keys.room_keys(room), broker.keys.channel(room)
        message = await broker.call("publish", keys, channel, broker.history, fragment, presence, 1, broker.ttl_ms)
    event = decode(room, message).event
    assert event is not None
    return event


async def leave_if_present(broker: RedisBroker, room: str, member: str, fragment: str, *, store: bool) -> bytes | None:
    """Publish a leave only if this caller removes the member (exactly once, whoever else tries)."""
    keys, channel = broker.keys.room_keys(room), broker.keys.channel(room)
    args = (channel, broker.history, member, fragment, int(store), broker.ttl_ms)
    message = await broker.call("leave_if_present", keys, *args)
    return message if isinstance(message, bytes) else None


async def store_nickname(broker: RedisBroker, room: str, member: str, nickname: str | None) -> None:
    """IDENT-001 bound a nickname after the join: later `members` lists (on any instance) show it."""
    assert broker.link is not None
    keys = [broker.keys.members(room), broker.keys.instance_rooms(broker.me)]
    try:
        await broker.call("register", keys, room, member, nickname_json(nickname), "1")
        await broker.link.client.publish(broker.keys.channel(room), rename_message(member, nickname))
    except LOST as exc:
        broker.lost(exc)
