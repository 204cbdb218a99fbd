"""The healthy path of the Redis broker: join, publish and rename as one Lua script or command each.

`join` subscribes to the room's channel first (and waits for Redis to confirm), then, in one script, checks
capacity across instances (LIMIT-006), registers the member, reads members and history, and publishes its join:
the welcome's `seq` is the one right before that join, so every later event reaches the member (CONN-004, the
ordering contract of broker.py) and no event falls between the welcome and the join, as with memory.py.

`publish` serializes the draft once (codec.body); the script adds `seq`, `ts` and `count` and publishes.
A leave is published by whoever removes the member from the room's hash, so it is announced once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from roomwire.reference.rooms.broker import EventDraft, EventKind, Joined, Member, RoomEvent
from roomwire.reference.rooms.redis.codec import body, decode, nickname_json, rename_message
from roomwire.reference.rooms.redis.link import LOST
from roomwire.reference.rooms.redis.room import LocalRoom, kept_range
from roomwire.spec.codes import CloseCode, LeaveReason

if TYPE_CHECKING:
    from roomwire.reference.rooms.redis.broker import RedisBroker


@runtime_checkable
class Evictable(Protocol):
    """What `Connection` offers besides `Member`: the broker closes a member whose leave others announced."""

    def close_soon(self, code: CloseCode, reason: LeaveReason, *, discard: bool = False) -> None: ...


def nickname_of(raw: bytes) -> str | None:
    value = json.loads(raw)
    return value if isinstance(value, str) else None


async def join(
    broker: RedisBroker, local: LocalRoom, member: Member, member_id: str, capacity: int, since: int | None
) -> Joined | None:
    """Join through Redis, the join published in the same step; None when the room is full.

    Raises:
        one of `LOST`: Redis is unreachable (the broker then joins locally).
    """
    assert broker.link is not None
    if not local.subscribed:
        await broker.link.subscribe([broker.keys.channel(local.name)])  # before seq is read: CONN-004
        local.subscribed = True
    draft = EventDraft(EventKind.JOIN, nickname=member.nickname)
    reply = await register(broker, local.name, member_id, draft, capacity=capacity, history=since is not None)
    if reply[0] == 0:
        return None  # LIMIT-006, counted across instances
    message, flat, history = reply[1], reply[2], reply[3]
    event = decode(local.name, message).event
    assert event is not None
    seq = event.seq - 1  # the welcome's seq: its own join is the next event (PRES-001)
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


async def register(
    broker: RedisBroker,
    room: str,
    member_id: str,
    draft: EventDraft,
    *,
    capacity: int,
    history: bool,
    quiet: bool = False,
) -> Any:
    """The JOIN script: register the member and publish its join in one step (scripts.JOIN)."""
    keys = [*broker.keys.room_keys(room), broker.keys.instance_rooms(broker.me)]
    fragment = body(draft, member_id, broker.me, quiet=quiet)
    args = (member_id, nickname_json(draft.nickname), capacity, int(history), room, broker.keys.channel(room))
    return await broker.call("join", keys, *args, broker.history, fragment, int(not quiet), broker.ttl_ms)


async def publish(broker: RedisBroker, room: str, draft: EventDraft) -> RoomEvent:
    """Next `seq`, history and PUBLISH in one script (SPEC §5).

    Raises:
        one of `LOST`: Redis is unreachable (the broker then delivers locally).
    """
    presence = int(draft.kind is not EventKind.USER_MSG)
    keys, channel = broker.keys.room_keys(room), broker.keys.channel(room)
    fragment = body(draft, None, broker.me)
    message = await broker.call("publish", keys, channel, broker.history, fragment, presence, 1, broker.ttl_ms)
    event = decode(room, message).event
    assert event is not None
    return event


async def leave(broker: RedisBroker, room: str, draft: EventDraft, member: str) -> None:
    """Remove the member and publish its leave in one step; silent if a survivor announced it already.

    Raises:
        one of `LOST`: Redis is unreachable (the broker then announces it locally, and to the others later).
    """
    await leave_if_present(broker, room, member, body(draft, member, broker.me), store=True)


async def forget(broker: RedisBroker, room: str, member: str) -> None:
    """Remove the member from the room's hash without announcing it (`Broker.leave(announce=False)`)."""
    assert broker.link is not None
    await broker.link.client.hdel(broker.keys.members(room), member)


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
