"""Rooms across several reference instances through Redis (`redis://`, `rediss://`): `RedisBroker`.

Theory of operation (docs/scaleout.md has the whole design, with the keys and scripts of scripts.py):

- Healthy. `publish` runs one Lua script that takes the room's next `seq`, appends the event to the room's
  history and PUBLISHes it (SPEC §5: one counter per room, publish order = `seq` order). Every instance
  subscribed to the room, this one included, delivers it to its local members in `seq` order (state.py).
  `join` subscribes first, then reads `seq`, members, capacity and history and publishes the join in one
  script (the ordering contract of broker.py); `leave` removes the member and publishes its leave in one
  script. Presence is a hash of all members; instances hold leases (presence.py).
- Outage. Any Redis error (or a subscriber that stops hearing its own heartbeat) makes this instance
  `degraded`: clients get the `degraded` notice (SPEC §9), local rooms keep working, and the link reconnects
  with capped, fully jittered exponential backoff. Local events then get `seq`s from this instance's private
  range, above anything the shared counter gave (outage.py). When Redis is back, the instance resubscribes,
  renews its lease, re-registers its members, tells the others who joined or left meanwhile, lifts the counter
  past every outage range where it used one, and catches up from history; then clients get `restored`. So a
  `seq` is never reused, and what an outage lost shows as a jump in `seq` after `restored` (CHAT-005) and as
  `resume.complete: false` (RECON-004).

This class wires the parts together: `Instance` (state.py) holds everything the instance knows and the rules
that change it, `Store` (store.py) runs every Redis command, and shared.py, outage.py and presence.py are the
paths between them. None of them reaches into this class.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from redis import exceptions as redis_errors

from roomwire.reference.rooms.broker import Broker, EventDraft, Joined, Member, RoomEvent, RoomFull
from roomwire.reference.rooms.budget import Budget
from roomwire.reference.rooms.redis import outage, presence, shared, stopping
from roomwire.reference.rooms.redis.batch import Batcher
from roomwire.reference.rooms.redis.budget import RedisBudget
from roomwire.reference.rooms.redis.codec import decode, decode_all
from roomwire.reference.rooms.redis.config import SETTING, HistoryBounds, RedisOptions
from roomwire.reference.rooms.redis.link import LOST, why
from roomwire.reference.rooms.redis.state import Departure, Health, Instance, LocalRoom
from roomwire.reference.rooms.redis.store import Store
from roomwire.spec.codes import LeaveReason
from roomwire.spec.errors import ConfigError

if TYPE_CHECKING:
    from roomwire.reference.settings import Settings

log = logging.getLogger(__name__)


class RedisBroker(Broker):
    """`Broker` for several instances sharing one Redis (see the module docstring)."""

    def __init__(self, options: RedisOptions, *, history: int = 100, bounds: HistoryBounds | None = None) -> None:
        super().__init__()
        self.options = options
        self.instance = Instance(history=history, on_gap=self._repair_soon)
        bounds = bounds or HistoryBounds(events=history)
        self.store = Store(options, self.instance, bounds=bounds, on_message=self._on_message, on_lost=self._lost)
        self.batcher = Batcher(self.store.publish_many, self._publish_alone)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reconnect: asyncio.Task[None] | None = None

    # --- lifecycle --------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and register this instance.

        Raises:
            ConfigError: Redis cannot be reached (one line, no password): the server must not start half-alive.
        """
        link = self.store.new_link()
        try:
            await link.open()
            await presence.take_lease(self.store, self.instance)
            await self.store.subscribe([], ping=True)
        except (*LOST, redis_errors.ResponseError) as exc:  # ResponseError: a password Redis refuses, say
            await link.close()
            raise ConfigError(f"{SETTING}: cannot reach Redis at {self.options.shown} ({why(exc)})") from None
        self.instance.started()
        self._spawn(presence.run(self.store, self.instance))
        log.info("Redis broker %s at %s (slot %s)", self.instance.me, self.options.shown, self.instance.slot)

    async def close(self) -> None:
        reachable = self.instance.closing()
        self.batcher.close()
        tasks = [task for task in (*self._tasks, self._reconnect) if task is not None]
        await stopping.stop(tasks, within=2 * self.options.timeout_s)  # none of them touches Redis after this
        if reachable:
            await presence.deregister(self.store, self.instance)
        await self.store.close()

    def ai_budget(self, per_minute: int) -> Budget:
        """LIMIT-005 across every instance on this Redis (upstream's quota is per key, not per process)."""
        return RedisBudget(self.store, self.instance, per_minute)

    @property
    def healthy(self) -> bool:
        return self.instance.healthy

    @property
    def state(self) -> str:
        return "ok" if self.instance.healthy else "degraded: Redis unreachable, reconnecting"

    def stats(self) -> tuple[int, int]:
        return self.instance.stats()

    # --- the interface ----------------------------------------------------------------------------------------

    async def join(self, room: str, member: Member, *, capacity: int, since: int | None) -> Joined:
        """Through Redis (the JOIN script publishes the join with the membership change), or, while Redis is
        lost, in the local room only (the join published locally, the others told when Redis is back)."""
        local = self.instance.room(room)
        member_id = self.instance.member_id()
        local.add(member, member_id)
        if self.instance.healthy:
            try:
                joined = await shared.join(self.store, local, member, member_id, capacity, since)
            except LOST as exc:
                self.store.lost(exc)
            else:
                if joined is None:
                    local.remove(member)
                    raise RoomFull(room)
                return joined
        return outage.join_locally(self.instance, local, member, member_id, capacity, since)

    async def leave(self, room: str, member: Member, reason: LeaveReason, *, announce: bool = True) -> None:
        """Stop delivering to `member` now and publish its leave: through Redis when the others know the member
        (once, whoever removes it from the room's hash), locally when only this instance does."""
        leaving = self.instance.leaving(room, member)
        if leaving is None:
            return
        local, member_id, known = leaving
        departure = Departure(member_id, member.nickname, reason, announce)
        await self.batcher.settled()  # the member's last messages go first
        if known and self.instance.healthy:
            try:
                await shared.leave(self.store, room, departure)
                return
            except LOST as exc:
                self.store.lost(exc)
        outage.leave_locally(self.instance, local, departure, known=known)

    async def rename(self, room: str, member: Member) -> None:
        """The nickname is stored where `members` lists read it; other instances update their mirrors."""
        local = self.instance.rooms.get(room)
        member_id = local.members.get(member) if local is not None else None
        if local is None or member_id is None or not self.instance.healthy or member_id in local.unannounced:
            return  # an outage: the reconciliation stores every nickname again
        try:
            await shared.rename(self.store, room, member_id, member.nickname)
        except LOST as exc:
            self.store.lost(exc)

    async def publish(self, room: str, draft: EventDraft) -> RoomEvent:
        """Through Redis, batched with every other message of this loop turn (batch.py); locally while Redis is
        lost (after any message still queued, which keeps the room's order)."""
        if self.instance.healthy or self.batcher.busy:
            return await self.batcher.publish(room, draft, shared.fragment(self.store, draft))
        return outage.publish_locally(self.instance, room, draft)

    async def post(self, room: str, draft: EventDraft) -> None:
        """As `publish`, without waiting for Redis: the sender goes on reading while the message is on its way."""
        if self.instance.healthy or self.batcher.busy:
            await self.batcher.post(room, draft, shared.fragment(self.store, draft))
        else:
            outage.publish_locally(self.instance, room, draft)

    def _publish_alone(self, room: str, draft: EventDraft, exc: BaseException) -> RoomEvent:
        """A message Redis could not take (batch.py): the link is lost, the message stays local."""
        self.store.lost(exc)
        return outage.publish_locally(self.instance, room, draft)

    # --- delivery ---------------------------------------------------------------------------------------------

    def _on_message(self, channel: bytes, data: bytes) -> None:
        name = self.store.room_of(channel)
        local = self.instance.rooms.get(name) if name is not None else None
        if local is None:
            return
        try:
            items = decode_all(local.name, data)
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a message on %s that is not a room event", channel.decode(errors="replace"))
            return
        for item in items:
            local.accept(item)

    def _repair_soon(self, local: LocalRoom) -> None:
        log.info("room %s: a seq arrived after %s; repairing from history", local.name, local.delivered)
        self._spawn(self._repair(local))

    async def _repair(self, local: LocalRoom) -> None:
        """A gap in `seq`: fetch the room's history and deliver what it still has, in order (state.py)."""
        extra = []
        if self.store.reachable:
            try:
                extra = [decode(local.name, entry) for entry in await self.store.history_of(local.name)]
            except LOST as exc:
                self.store.lost(exc)
        local.release(extra)

    # --- losing and regaining Redis ---------------------------------------------------------------------------

    def _lost(self, exc: BaseException) -> None:
        """The link reported a loss (once per link): degrade, tell the clients once, reconnect."""
        if self.instance.link_lost():
            log.warning("lost Redis at %s (%s): local rooms only, reconnecting", self.options.shown, why(exc))
            self._notify(False)  # SPEC §9 `degraded`
        if self.instance.health is Health.DEGRADED and (self._reconnect is None or self._reconnect.done()):
            self._reconnect = asyncio.get_running_loop().create_task(self._recover())

    async def _recover(self) -> None:
        await presence.reconnect(self.store, self.instance)
        self.instance.recovered()
        log.warning("Redis at %s is back: rooms span instances again", self.options.shown)
        self._notify(True)  # SPEC §9 `restored`

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def create_redis_broker(settings: Settings) -> Broker:
    """The broker for a `redis://` or `rediss://` `settings.broker_url` (tunables: config.py).

    Redis is asked for a PING here, synchronously, because `create_app` is where `roomwire serve` turns a
    `ConfigError` into one line and exit code 2; `start` (inside Hypercorn's startup) checks again.

    Raises:
        ConfigError: the URL or one of its parameters is invalid, or Redis does not answer.
    """
    options = RedisOptions.from_url(settings.broker_url)
    probe(options)
    bounds = HistoryBounds(  # RECON-005: the settings `memory://` has
        events=settings.resume_history,
        total_bytes=settings.resume_history_bytes,
        empty_rooms=settings.empty_rooms_kept,
        empty_ttl_s=settings.empty_room_ttl_s,
    )
    return RedisBroker(options, history=settings.resume_history, bounds=bounds)


def probe(options: RedisOptions) -> None:
    """PING Redis once, without retrying.

    Raises:
        ConfigError: no answer within `timeout`, or Redis refused us (a password, say): one line, no password.
    """
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    timeout = options.timeout_s
    client = redis.Redis.from_url(
        options.url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 0), protocol=2
    )
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        raise ConfigError(f"{SETTING}: cannot reach Redis at {options.shown} ({why(exc)})") from None
    finally:
        client.close()
