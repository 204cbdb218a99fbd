"""The healthy path of the Redis broker: join, publish, leave and rename, one script or command each.

`join` subscribes to the room's channel first (and waits for Redis to confirm), then, in one script, checks
capacity across instances (LIMIT-006), registers the member, reads members and history, and publishes its join:
the welcome's `seq` is the one right before that join, so every later event reaches the member (CONN-004, the
ordering contract of broker.py) and no event falls between the welcome and the join, as with memory.py.

`publish` serializes the draft once (codec.body); the script adds `seq`, `ts` and `count` and publishes.
A leave is published by whoever removes the member from the room's hash, so it is announced once.

Every function raises one of `link.LOST` when Redis is unreachable; the broker then falls back to outage.py.
"""

from __future__ import annotations

import json

from roomwire.reference.rooms.broker import EventDraft, EventKind, Joined, Member, kept_range
from roomwire.reference.rooms.redis.codec import body, decode, nickname_json, rename_message
from roomwire.reference.rooms.redis.state import Departure, LocalRoom
from roomwire.reference.rooms.redis.store import Store


def nickname_of(raw: bytes) -> str | None:
    value = json.loads(raw)
    return value if isinstance(value, str) else None


async def join(
    store: Store, local: LocalRoom, member: Member, member_id: str, capacity: int, since: int | None
) -> Joined | None:
    """Join through Redis, the join published in the same step; None when the room is full."""
    if not local.subscribed:
        await store.subscribe([local.name])  # before seq is read: CONN-004
        local.subscribed_now()
    fragment = body(EventDraft(EventKind.JOIN, nickname=member.nickname), member_id, store.instance.me)
    nickname = nickname_json(member.nickname)
    reply = await store.join_room(
        local.name, member_id, nickname, fragment, capacity=capacity, history=since is not None, announce=True
    )
    if reply[0] == 0:
        return None  # LIMIT-006, counted across instances
    message, flat, history = reply[1], reply[2], reply[3]
    event = decode(local.name, message).event
    assert event is not None
    seq = event.seq - 1  # the welcome's seq: its own join is the next event (PRES-001)
    names = local.mirror_members((flat[i].decode(), nickname_of(flat[i + 1])) for i in range(0, len(flat), 2))
    local.start(seq)
    if since is None:
        return Joined(seq=seq, members=names)
    events = [item.event for item in (decode(local.name, raw) for raw in history) if item.event is not None]
    replay, complete = kept_range(events, since, seq)  # RECON-004
    return Joined(seq=seq, members=names, replay=replay, complete=complete)


def fragment(store: Store, draft: EventDraft) -> bytes:
    """A chat message's part of its Redis message; the PUBLISH script adds `seq` and `ts` (batch.py sends it)."""
    return body(draft, None, store.instance.me)


async def leave(store: Store, room: str, departure: Departure, *, quiet: bool = False) -> None:
    """Remove the member and publish its leave in one step; silent if a survivor announced it already (or if
    the departure is not to be announced: `Broker.leave(announce=False)`).

    `quiet`: this instance's members saw the leave already (outage.reconcile); it stays out of history.
    """
    if not departure.announce:
        await store.forget_member(room, departure.member)
        return
    draft = EventDraft(EventKind.LEAVE, nickname=departure.nickname, reason=departure.reason)
    fragment = body(draft, departure.member, store.instance.me, quiet=quiet)
    await store.leave_room(room, departure.member, fragment, store=not quiet)


async def rename(store: Store, room: str, member: str, nickname: str | None) -> None:
    """IDENT-001 bound a nickname after the join: later `members` lists (on any instance) show it."""
    await store.store_nicknames(room, [(member, nickname_json(nickname), True)])
    await store.publish_rename(room, rename_message(member, nickname))
