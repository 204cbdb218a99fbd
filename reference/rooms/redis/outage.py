"""While Redis is lost: local rooms keep working. When it is back: tell the others, lift `seq`, catch up.

During an outage an instance cannot reach the shared counter, so it numbers its local events from a private
range (`LocalRoom.outage_seq`): `(shared // BLOCK + 1) * BLOCK + slot * SPAN + n`. `shared` is at most the
counter, so every instance's range lies above every `seq` the counter gave and below
`(counter // BLOCK + 2) * BLOCK`; the slot (unique per live instance, scripts.START) keeps the ranges of
two instances apart. On reconnection `reconcile` sets the counter to `(max(counter, seen) // BLOCK + 2) * BLOCK`
(JUMP) in every room where this instance used its range or Redis lost its data, so no `seq` is ever given twice,
and the members of every instance see the outage as a jump in `seq` (CHAT-005: detectable loss).

What an outage loses, precisely (docs/scaleout.md):
- events of other instances published while this one was cut off, when this one used its outage range in that
  room meanwhile (otherwise they are caught up from history, up to `resume_history` events);
- this instance's outage events, for the members of other instances (they never reach Redis or history);
- nothing of presence: joins and leaves of the outage are announced to the others afterwards, exactly once.
"""

from __future__ import annotations

import logging

from roomwire.reference.rooms.broker import EventDraft, EventKind, Joined, Member, RoomEvent, RoomFull, now_ms
from roomwire.reference.rooms.redis import shared
from roomwire.reference.rooms.redis.codec import body, decode, nickname_json
from roomwire.reference.rooms.redis.state import Departure, Instance, LocalRoom
from roomwire.reference.rooms.redis.store import Store

log = logging.getLogger(__name__)


# --- during the outage ------------------------------------------------------------------------------------------


def join_locally(
    instance: Instance, local: LocalRoom, member: Member, member_id: str, capacity: int, since: int | None
) -> Joined:
    """A join while Redis is lost: `members` and capacity from the last known state (the mirror); the join is
    published to this instance's members now and to the others when Redis is back (`reconcile`)."""
    if local.count > capacity:
        local.remove(member)
        raise RoomFull(local.name)
    local.joined_alone(member_id)
    seq = local.welcome_seq_alone()
    replay, complete = local.replay(since, seq) if since is not None else ((), True)
    joined = Joined(seq=seq, members=local.names(), replay=replay, complete=complete)
    publish_locally(instance, local.name, EventDraft(EventKind.JOIN, nickname=member.nickname))  # PRES-001
    return joined


def publish_locally(instance: Instance, room: str, draft: EventDraft) -> RoomEvent:
    """Deliver to this instance's members with an outage `seq` (the others never see it: a jump in `seq`)."""
    local = instance.room(room)
    assert instance.slot is not None
    seq = local.outage_seq(instance.slot)
    if seq is None:  # pragma: no cover - needs SPAN (4 million) events in one room during one outage
        log.error("room %s: the outage range of this instance is used up; event dropped", room)
        return RoomEvent(room=room, kind=draft.kind, seq=0, ts=now_ms(), nickname=draft.nickname)
    presence = draft.kind is not EventKind.USER_MSG
    event = RoomEvent(
        room=room, kind=draft.kind, seq=seq, ts=now_ms(), nickname=draft.nickname, content=draft.content,
        id=draft.id, count=local.count if presence else None, reason=draft.reason,
    )  # fmt: skip
    local.deliver_alone(event)
    return event


def leave_locally(instance: Instance, local: LocalRoom, departure: Departure, *, known: bool) -> None:
    """A leave while Redis is lost: announced here now, and to the others later if they knew the member (`known`)."""
    if departure.announce:
        draft = EventDraft(EventKind.LEAVE, nickname=departure.nickname, reason=departure.reason)
        publish_locally(instance, local.name, draft)
    if known:
        local.left_meanwhile(departure)


# --- Redis is back ----------------------------------------------------------------------------------------------


async def reconcile(store: Store, local: LocalRoom, lost_data: bool) -> None:
    """Make Redis agree with this instance about `local`, then deliver what history has that we missed.

    Raises:
        one of `link.LOST`: Redis went away again; the caller retries the whole recovery later.
    """
    local.hold()  # what arrives meanwhile waits, and is delivered in order by `release`
    try:
        await _store_nicknames(store, local, lost_data)
        if lost_data or local.outage_next is not None:
            local.lifted(await store.lift_seq(local.name, max(local.delivered or 0, local.shared)))
        await _announce(store, local)
        raw = await store.history_of(local.name)
    except BaseException:
        local.release(())
        raise
    local.release(decode(local.name, entry) for entry in raw)


async def _store_nicknames(store: Store, local: LocalRoom, lost_data: bool) -> None:
    """Store the nickname (which may have been bound meanwhile) of every member the others know; one that must
    still be there but is not was announced as left by a survivor: evict it (PRES-005). After Redis lost its
    data, store them all again, silently: for their clients nothing changed."""
    entries = [
        (member_id, nickname_json(member.nickname), not lost_data)
        for member, member_id in local.members.items()
        if member_id not in local.unannounced
    ]
    if not entries:
        return
    for gone in await store.store_nicknames(local.name, entries):
        local.announced_elsewhere(gone)


async def _announce(store: Store, local: LocalRoom) -> None:
    """Tell the other instances who joined and left during the outage; `q` keeps this instance's own members
    from seeing them twice, and they stay out of history (inside the jump, so resume says incomplete)."""
    room, me = local.name, store.instance.me
    for member_id in list(local.unannounced):
        member = local.ids.get(member_id)
        if member is not None:
            fragment = body(EventDraft(EventKind.JOIN, nickname=member.nickname), member_id, me, quiet=True)
            nickname = nickname_json(member.nickname)
            await store.join_room(room, member_id, nickname, fragment, capacity=2**31, history=False, announce=False)
        local.announced(member_id)
    while local.pending_leaves:
        departure = local.pending_leaves[0]
        await shared.leave(store, room, departure, quiet=True)
        local.told(departure)
