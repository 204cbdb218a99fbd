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

from redis import exceptions as redis_errors

from roomwire.reference.rooms.redis import outage
from roomwire.reference.rooms.redis.link import LOST, Link, why
from roomwire.reference.rooms.redis.state import Instance, Recovery
from roomwire.reference.rooms.redis.store import Store
from roomwire.spec.codes import LeaveReason

log = logging.getLogger(__name__)

MARKER_TTL_MS = 3_600_000


async def take_lease(store: Store, instance: Instance) -> None:
    """Take (or renew) the lease, learn the epoch, and keep or get a slot (scripts.START)."""
    epoch, slot = await store.take_lease(secrets.token_hex(8), instance.slot)
    if instance.registered(epoch, slot):
        log.warning("Redis lost its data (new epoch): re-registering every member, lifting every room's seq")
    await count_instances(store, instance)


async def recover(store: Store, instance: Instance) -> None:
    """After reconnecting: lease, subscriptions, then every room reconciled (outage.reconcile).

    Raises:
        one of `LOST`: Redis went away again.
    """
    status = Recovery(await store.renew_lease())
    if status is Recovery.REAPED:
        instance.reborn()
    if status is not Recovery.OK:
        await take_lease(store, instance)
    rooms = list(instance.rooms.values())
    for local in rooms:
        local.hold()
    await store.subscribe([local.name for local in rooms], ping=True)
    for local in rooms:
        local.subscribed_now()
    for local in rooms:
        await outage.reconcile(store, local, status is Recovery.LOST)
    for _ in range(3):  # events published locally during the recovery itself
        dirty = [local for local in instance.rooms.values() if local.dirty or not local.subscribed]
        if not dirty:
            return
        await store.subscribe([local.name for local in dirty if not local.subscribed])
        for local in dirty:
            local.subscribed_now()
            await outage.reconcile(store, local, False)


async def reconnect(store: Store, instance: Instance) -> None:
    """Capped exponential backoff with full jitter (0.1 s doubling up to `backoff`), until Redis is back and
    this instance has recovered (the caller then says `restored`)."""
    for attempt in itertools.count():
        await asyncio.sleep(random.uniform(0, min(store.options.backoff_s, 0.1 * 2 ** min(attempt, 20))))
        await store.close()
        link = store.new_link()
        try:
            await link.open()
            await recover(store, instance)
        except LOST as exc:
            log.debug("Redis still unreachable (%s)", why(exc))
            continue
        if not link.closed:  # the subscriber may have died during the recovery: try again
            return


async def run(store: Store, instance: Instance) -> None:
    """The heartbeat loop: renew the lease, check the subscriber hears, forget idle rooms, reap the dead."""
    interval = store.options.lease_s / 3
    idle: set[str] = set()
    while True:
        await asyncio.sleep(interval)
        link = store.link
        if not instance.healthy or link is None or link.closed:
            continue
        try:
            await _beat(store, instance, link, interval)
            idle = await _sweep(store, instance, idle)
            if instance.may_reap(store.options.lease_s):
                await reap(store)
        except LOST as exc:
            store.lost(exc)


async def _beat(store: Store, instance: Instance, link: Link, interval: float) -> None:
    if time.monotonic() - link.last_heard > 2 * interval + store.options.timeout_s:
        raise redis_errors.TimeoutError("the subscriber heard nothing, not even its own heartbeat")
    await store.echo()
    status = await store.renew_lease()
    if status != Recovery.OK:
        raise redis_errors.ConnectionError(f"Redis says this instance is {status}")
    await count_instances(store, instance)


async def count_instances(store: Store, instance: Instance) -> None:
    """Remember how many instances hold a lease (the dead until reaped, too: a smaller share is the safe side);
    while Redis is lost, the AI budget falls back to this instance's share of it (budget.py)."""
    instance.counted(await store.count_instances())


async def _sweep(store: Store, instance: Instance, idle_before: set[str]) -> set[str]:
    """Unsubscribe rooms idle for two beats in a row (a short grace avoids churn when someone reconnects)."""
    idle_now = {name for name, local in instance.rooms.items() if local.idle}
    gone = idle_now & idle_before
    await store.unsubscribe_idle(lambda: instance.forget_idle(gone))  # under the send lock: no SUBSCRIBE between
    await store.forget_rooms(sorted(name for name in gone if name not in instance.rooms))  # the reaper's list
    return idle_now - gone


async def reap(store: Store, *, limit: int = 8) -> None:
    """Announce the members of instances whose lease expired (module docstring)."""
    for _ in range(limit):
        claimed = await store.claim_dead(MARKER_TTL_MS)
        if claimed is None:
            return
        dead, rooms = claimed
        count = await _announce_all(store, dead, rooms, LeaveReason.TIMEOUT)
        await store.reaped(dead)
        log.warning("instance %s stopped renewing its lease: %d of its members announced as left", dead, count)


async def _announce_all(store: Store, instance: str, rooms: Iterable[str], reason: LeaveReason) -> int:
    return sum([await store.reap_room(room, instance, reason.value) for room in rooms])


async def deregister(store: Store, instance: Instance) -> None:
    """A clean stop: members still registered are announced (reason `server`), the lease is dropped."""
    if store.link is None:
        return
    try:
        rooms = await store.own_rooms()
        await _announce_all(store, instance.me, rooms | set(instance.rooms), LeaveReason.SERVER)
        await store.drop_lease()
    except LOST as exc:
        log.warning("could not deregister from Redis (%s); survivors will reap this instance", exc)
