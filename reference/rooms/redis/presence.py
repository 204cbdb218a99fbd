"""Presence across instances: leases, the heartbeat, reaping dead instances, and recovery after an outage.

Every instance holds a lease in `P:instances` (expiry on Redis's clock) and renews it every `lease / 3`
seconds. Each beat also publishes to the instance's own `P:ping:I` channel: if its subscriber has heard nothing
for two beats, it is deaf (a half-open TCP connection to Redis, say) and the link is treated as lost.

A survivor finds an expired lease and CLAIMs it atomically: the dead id moves from `P:instances` to
`P:reaping` (with a claim that itself expires, so a reaper that dies mid-way is replaced) and gets a
`P:reaped:I` marker. It then runs REAP_ROOM in each room the dead instance had members in; the script removes
each member from the room's hash and publishes its `leave` (reason `timeout`: no heartbeat in time, like a
missed pong) in the same step, so each is announced exactly once however many survivors try (PRES-005).
An instance reaps only after it has been connected for a whole lease: after a Redis restart, every instance
gets that long (more than `backoff`) to come back before anyone takes it for dead.

Recovery: the heartbeat's answer tells a reconnecting instance what happened meanwhile: `ok`; `reaped`
(partitioned for longer than a lease: its registered members were announced as left, so they are evicted
and it registers again under a new id); `lost` (Redis lost its data: register again, re-store every member,
lift every room's `seq`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import secrets
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from redis import exceptions as redis_errors

from roomwire.reference.rooms.redis import outage
from roomwire.reference.rooms.redis.link import LOST, Link, why
from roomwire.spec.codes import LeaveReason

if TYPE_CHECKING:
    from roomwire.reference.rooms.redis.broker import RedisBroker

log = logging.getLogger(__name__)

MARKER_TTL_MS = 3_600_000


async def register(broker: RedisBroker, *, lost: bool) -> None:
    """Take (or renew) the lease, learn the epoch, and keep or get a slot (scripts.START)."""
    keys = broker.keys
    slot_kept = "" if broker.slot is None else broker.slot
    epoch, slot = await broker.call(
        "start", [keys.epoch, keys.slots, keys.instances], secrets.token_hex(8), broker.me, _lease_ms(broker), slot_kept
    )
    if lost and broker.epoch and epoch.decode() != broker.epoch:
        log.warning("Redis lost its data (new epoch): re-registering every member, lifting every room's seq")
    broker.epoch, broker.slot = epoch.decode(), int(slot)
    await count_instances(broker)


async def heartbeat(broker: RedisBroker) -> str:
    keys = broker.keys
    status = await broker.call(
        "heartbeat", [keys.instances, keys.reaped(broker.me), keys.epoch], broker.me, _lease_ms(broker), broker.epoch
    )
    return str(status.decode())


async def recover(broker: RedisBroker) -> None:
    """After reconnecting: lease, subscriptions, then every room reconciled (outage.reconcile).

    Raises:
        one of `LOST`: Redis went away again.
    """
    assert broker.link is not None
    status = await heartbeat(broker)
    if status == "reaped":
        _rebirth(broker)
    if status != "ok":
        await register(broker, lost=status == "lost")
    rooms = list(broker.rooms.values())
    for local in rooms:
        local.holding = True
    await broker.link.subscribe([broker.keys.ping(broker.me), *(broker.keys.channel(r.name) for r in rooms)])
    for local in rooms:
        local.subscribed = True
    for local in rooms:
        await outage.reconcile(broker, local, status == "lost")
    for _ in range(3):  # events published locally during the recovery itself
        dirty = [local for local in broker.rooms.values() if local.dirty or not local.subscribed]
        if not dirty:
            return
        await broker.link.subscribe([broker.keys.channel(local.name) for local in dirty if not local.subscribed])
        for local in dirty:
            local.subscribed = True
            await outage.reconcile(broker, local, False)


async def reconnect(broker: RedisBroker) -> None:
    """Capped exponential backoff with full jitter (0.1 s doubling up to `backoff`), until Redis is back."""
    for attempt in itertools.count():
        await asyncio.sleep(random.uniform(0, min(broker.options.backoff_s, 0.1 * 2 ** min(attempt, 20))))
        if broker.link is not None:
            await broker.link.close()
        link = broker.new_link()
        try:
            await link.open()
            await recover(broker)
        except LOST as exc:
            log.debug("Redis still unreachable (%s)", why(exc))
            continue
        if not link.closed:  # the subscriber may have died during the recovery: try again
            broker.restored()
            return


def _rebirth(broker: RedisBroker) -> None:
    """Survivors announced our registered members as left: evict them; keep those never announced, renamed."""
    old = broker.me
    broker.me = secrets.token_hex(6)
    log.warning("instance %s was taken for dead while cut off from Redis; it is %s now", old, broker.me)
    for local in broker.rooms.values():
        local.me = broker.me
        for member, member_id in list(local.members.items()):
            if member_id not in local.unannounced:
                broker.evict(local, member)
                continue
            local.remove(member)
            local.unannounced.discard(member_id)
            renamed = broker.member_id()
            local.add(member, renamed)
            local.unannounced.add(renamed)


async def run(broker: RedisBroker) -> None:
    """The heartbeat loop: renew the lease, check the subscriber hears, forget idle rooms, reap the dead."""
    interval = broker.options.lease_s / 3
    idle: set[str] = set()
    while True:
        await asyncio.sleep(interval)
        link = broker.link
        if not broker.healthy or link is None or link.closed:
            continue
        try:
            await _beat(broker, link, interval)
            idle = await _sweep(broker, link, idle)
            if time.monotonic() - broker.connected_at >= broker.options.lease_s:
                await reap(broker)
        except LOST as exc:
            broker.lost(exc)


async def _beat(broker: RedisBroker, link: Link, interval: float) -> None:
    if time.monotonic() - link.last_heard > 2 * interval + broker.options.timeout_s:
        raise redis_errors.TimeoutError("the subscriber heard nothing, not even its own heartbeat")
    await link.client.publish(broker.keys.ping(broker.me), b"1")
    status = await heartbeat(broker)
    if status != "ok":
        raise redis_errors.ConnectionError(f"Redis says this instance is {status}")
    await count_instances(broker)


async def count_instances(broker: RedisBroker) -> None:
    """Remember how many instances hold a lease (the dead until reaped, too: a smaller share is the safe side);
    while Redis is lost, the AI budget falls back to this instance's share of it (budget.py)."""
    assert broker.link is not None
    broker.live_instances = max(1, int(await broker.link.client.zcard(broker.keys.instances)))


async def _sweep(broker: RedisBroker, link: Link, idle_before: set[str]) -> set[str]:
    """Unsubscribe rooms idle for two beats in a row (a short grace avoids churn when someone reconnects)."""
    idle_now = {name for name, local in broker.rooms.items() if local.idle}
    gone = idle_now & idle_before

    def pick() -> list[str]:  # runs under the link's send lock: no SUBSCRIBE can slip in between
        channels = []
        for name in gone:
            local = broker.rooms.get(name)
            if local is not None and local.idle:
                del broker.rooms[name]
                if local.subscribed:
                    channels.append(broker.keys.channel(name))
        return channels

    await link.unsubscribe_idle(pick)
    return idle_now - gone


async def reap(broker: RedisBroker, *, limit: int = 8) -> None:
    """Announce the members of instances whose lease expired (module docstring)."""
    keys = broker.keys
    for _ in range(limit):
        claimed = await broker.call(
            "claim", [keys.instances, keys.reaping], broker.me, _lease_ms(broker), keys.prefix, MARKER_TTL_MS
        )
        if not claimed:
            return
        dead = claimed[0].decode()
        count = await _announce_all(broker, dead, (raw.decode() for raw in claimed[1:]), LeaveReason.TIMEOUT)
        assert broker.link is not None
        await broker.link.client.zrem(keys.reaping, dead)
        await broker.link.client.delete(keys.instance_rooms(dead))
        log.warning("instance %s stopped renewing its lease: %d of its members announced as left", dead, count)


async def _announce_all(broker: RedisBroker, instance: str, rooms: Iterable[str], reason: LeaveReason) -> int:
    count = 0
    for room in rooms:
        channel, keys = broker.keys.channel(room), broker.keys.room_keys(room)
        count += int(
            await broker.call("reap_room", keys, channel, broker.history, instance, reason.value, broker.ttl_ms)
        )
    return count


async def deregister(broker: RedisBroker) -> None:
    """A clean stop: members still registered are announced (reason `server`), the lease is dropped."""
    link = broker.link
    if link is None:
        return
    try:
        stored = await link.client.smembers(broker.keys.instance_rooms(broker.me))
        rooms = {raw.decode() if isinstance(raw, bytes) else raw for raw in stored}
        await _announce_all(broker, broker.me, rooms | set(broker.rooms), LeaveReason.SERVER)
        await link.client.zrem(broker.keys.instances, broker.me)
        await link.client.delete(broker.keys.instance_rooms(broker.me))
    except LOST as exc:
        log.warning("could not deregister from Redis (%s); survivors will reap this instance", exc)


def _lease_ms(broker: RedisBroker) -> int:
    return int(broker.options.lease_s * 1000)
