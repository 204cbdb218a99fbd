"""Rooms across several reference instances through Redis (`redis://`, `rediss://`): `RedisBroker`.

Theory of operation (docs/scaleout.md has the whole design, with the keys and scripts of scripts.py):

- Healthy. `publish` runs one Lua script that takes the room's next `seq`, appends the event to the room's
  history and PUBLISHes it (SPEC §5: one counter per room, publish order = `seq` order). Every instance
  subscribed to the room, this one included, delivers it to its local members in `seq` order (room.py).
  `join` subscribes first, then reads `seq`, members, capacity and history in one script (the ordering
  contract of broker.py). Presence is a hash of all members; instances hold leases (presence.py).
- Outage. Any Redis error (or a subscriber that stops hearing its own heartbeat) makes this instance
  `degraded`: clients get the `degraded` notice (SPEC §9), local rooms keep working, and the link reconnects
  with capped, fully jittered exponential backoff. Local events then get `seq`s from this instance's private
  range, above anything the shared counter gave: `(shared // BLOCK + 1) * BLOCK + slot * SPAN + n`, where the
  slot is unique per instance. When Redis is back, the instance resubscribes, renews its lease, re-registers
  its members, tells the others who joined or left meanwhile, lifts the counter past every outage range
  (`JUMP`) where it used one, and catches up from history; then clients get `restored`. So a `seq` is never
  reused, and what an outage lost shows as a jump in `seq` after `restored` (CHAT-005) and as
  `resume.complete: false` (RECON-004).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

from redis import exceptions as redis_errors

from roomwire.reference.rooms.broker import Broker, EventDraft, EventKind, Joined, Member, RoomEvent, RoomFull
from roomwire.reference.rooms.budget import Budget
from roomwire.reference.rooms.redis import outage, presence, scripts, shared
from roomwire.reference.rooms.redis.budget import RedisBudget
from roomwire.reference.rooms.redis.codec import decode
from roomwire.reference.rooms.redis.config import SETTING, RedisOptions
from roomwire.reference.rooms.redis.link import LOST, Link, why
from roomwire.reference.rooms.redis.room import LocalRoom, PendingLeave
from roomwire.reference.rooms.redis.shared import Evictable
from roomwire.spec.codes import CloseCode, LeaveReason
from roomwire.spec.errors import ConfigError

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

    from roomwire.reference.settings import Settings

log = logging.getLogger(__name__)

_SCRIPTS = {name.lower(): getattr(scripts, name) for name in (
    "PUBLISH", "JOIN", "LEAVE_IF_PRESENT", "REAP_ROOM", "REGISTER", "JUMP", "START", "HEARTBEAT", "CLAIM",
    "BUDGET",
)}  # fmt: skip


class RedisBroker(Broker):
    """`Broker` for several instances sharing one Redis (see the module docstring)."""

    def __init__(self, options: RedisOptions, *, history: int = 100) -> None:
        super().__init__()
        self.options = options
        self.keys = scripts.Keys(options.prefix)
        self.history = history
        self.me = secrets.token_hex(6)
        self.slot: int | None = None
        self.epoch = ""
        self.rooms: dict[str, LocalRoom] = {}
        self.link: Link | None = None
        self.script: dict[str, AsyncScript] = {}
        self.connected_at = 0.0
        self.live_instances = 1  # leases in Redis when last counted (presence.count_instances)
        self._healthy = False
        self._closing = False
        self._numbers = itertools.count(1)
        self._evicted: set[Member] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reconnect: asyncio.Task[None] | None = None

    # --- lifecycle --------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and register this instance.

        Raises:
            ConfigError: Redis cannot be reached (one line, no password): the server must not start half-alive.
        """
        link = self.new_link()
        try:
            await link.open()
            await presence.register(self, lost=True)
            await link.subscribe([self.keys.ping(self.me)])
        except (*LOST, redis_errors.ResponseError) as exc:  # ResponseError: a password Redis refuses, say
            await link.close()
            raise ConfigError(f"{SETTING}: cannot reach Redis at {self.options.shown} ({why(exc)})") from None
        self._healthy = True
        self.connected_at = time.monotonic()
        self.spawn(presence.run(self))
        log.info("Redis broker %s at %s (slot %s)", self.me, self.options.shown, self.slot)

    async def close(self) -> None:
        self._closing = True
        for task in [*self._tasks, self._reconnect]:
            if task is not None:
                task.cancel()
        if self._healthy:
            await presence.deregister(self)
        if self.link is not None:
            await self.link.close()

    def new_link(self) -> Link:
        link = Link(self.options, self._on_message, self._on_link_lost, self.me)
        self.link = link
        self.script = {name: link.client.register_script(source) for name, source in _SCRIPTS.items()}
        return link

    def ai_budget(self, per_minute: int) -> Budget:
        """LIMIT-005 across every instance on this Redis (upstream's quota is per key, not per process)."""
        return RedisBudget(self, per_minute)

    @property
    def healthy(self) -> bool:
        return self._healthy

    @property
    def state(self) -> str:
        return "ok" if self._healthy else "degraded: Redis unreachable, reconnecting"

    def stats(self) -> tuple[int, int]:
        members = [len(room.members) for room in self.rooms.values()]
        return sum(1 for n in members if n), sum(members)

    # --- the interface ----------------------------------------------------------------------------------------

    async def join(self, room: str, member: Member, *, capacity: int, since: int | None) -> Joined:
        """Through Redis (the JOIN script publishes the join with the membership change), or, while Redis is
        lost, in the local room only (the join published locally, the others told when Redis is back)."""
        local = self.room(room)
        member_id = self.member_id()
        local.add(member, member_id)
        if self._healthy:
            try:
                joined = await shared.join(self, local, member, member_id, capacity, since)
            except LOST as exc:
                self.lost(exc)
            else:
                if joined is None:
                    local.remove(member)
                    raise RoomFull(room)
                return joined
        return outage.join_locally(self, local, member, member_id, capacity, since)

    async def leave(self, room: str, member: Member, reason: LeaveReason, *, announce: bool = True) -> None:
        """Stop delivering to `member` now and publish its leave: through Redis when the others know the member
        (once, whoever removes it from the room's hash), locally when only this instance does."""
        if member in self._evicted:
            self._evicted.discard(member)
            return  # its leave was announced by a survivor (PRES-005)
        local = self.rooms.get(room)
        member_id = local.remove(member) if local is not None else None
        if local is None or member_id is None:
            return
        draft = EventDraft(EventKind.LEAVE, nickname=member.nickname, reason=reason)
        if member_id in local.unannounced:  # joined during an outage: the others never learnt of it
            local.unannounced.discard(member_id)
            if announce:
                outage.publish_locally(self, room, draft)
            return
        if self._healthy:
            try:
                await (shared.leave(self, room, draft, member_id) if announce else shared.forget(self, room, member_id))
                return
            except LOST as exc:
                self.lost(exc)
        if announce:
            outage.publish_locally(self, room, draft)
        local.pending_leaves.append(PendingLeave(member_id, member.nickname, reason, announce))

    async def rename(self, room: str, member: Member) -> None:
        """The nickname is stored where `members` lists read it; other instances update their mirrors."""
        local = self.rooms.get(room)
        member_id = local.members.get(member) if local is not None else None
        if member_id is None or not self._healthy or (local is not None and member_id in local.unannounced):
            return  # an outage: the reconciliation stores every nickname again
        await shared.store_nickname(self, room, member_id, member.nickname)

    async def publish(self, room: str, draft: EventDraft) -> RoomEvent:
        if self._healthy:
            try:
                return await shared.publish(self, room, draft)
            except LOST as exc:
                self.lost(exc)
        return outage.publish_locally(self, room, draft)

    # --- delivery ---------------------------------------------------------------------------------------------

    def _on_message(self, channel: bytes, data: bytes) -> None:
        name = self.keys.room_of(channel)
        local = self.rooms.get(name) if name is not None else None
        if local is None:
            return
        try:
            item = decode(local.name, data)
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a message on %s that is not a room event", channel.decode(errors="replace"))
            return
        if local.accept(item):
            log.info("room %s: seq %d arrived after %s; repairing from history", local.name, item.seq, local.delivered)
            self.spawn(self.repair(local))

    async def repair(self, local: LocalRoom) -> None:
        """A gap in `seq`: fetch the room's history and deliver what it still has, in order (room.py)."""
        extra = []
        if self._healthy and self.link is not None:
            try:
                raw = await self.link.client.lrange(self.keys.history(local.name), 0, -1)
                extra = [decode(local.name, entry) for entry in raw]
            except LOST as exc:
                self.lost(exc)
        local.release(extra)

    def evict(self, local: LocalRoom, member: Member) -> None:
        """Its leave was announced by another instance while we were cut off: it receives nothing more and is
        closed (1012, so that the client reconnects and resumes with `since`)."""
        if local.remove(member) is None:
            return
        self._evicted.add(member)
        if isinstance(member, Evictable):
            member.close_soon(CloseCode.SERVICE_RESTART, LeaveReason.SERVER)

    # --- losing and regaining Redis ---------------------------------------------------------------------------

    def lost(self, exc: BaseException) -> None:
        if self.link is not None:
            self.link.lost(exc)

    def _on_link_lost(self, exc: BaseException) -> None:
        if self._closing:
            return
        for local in self.rooms.values():
            local.subscribed = False
        if self._healthy:
            self._healthy = False
            log.warning("lost Redis at %s (%s): local rooms only, reconnecting", self.options.shown, why(exc))
            self._notify(False)  # SPEC §9 `degraded`
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = asyncio.get_running_loop().create_task(presence.reconnect(self))

    def restored(self) -> None:
        """Recovery is complete (presence.reconnect): rooms span instances again."""
        self._healthy = True
        self.connected_at = time.monotonic()
        log.warning("Redis at %s is back: rooms span instances again", self.options.shown)
        self._notify(True)  # SPEC §9 `restored`

    # --- helpers ----------------------------------------------------------------------------------------------

    def room(self, name: str) -> LocalRoom:
        local = self.rooms.get(name)
        if local is None:
            local = self.rooms[name] = LocalRoom(name, self.history, self.me, self.evict)
        return local

    async def call(self, script: str, keys: list[str], *args: str | int | float | bytes) -> Any:
        """Run one of the Lua scripts of scripts.py (EVALSHA; loaded again after a Redis restart)."""
        return await self.script[script](keys=keys, args=args)

    def member_id(self) -> str:
        return f"{self.me}.{next(self._numbers)}"

    @property
    def ttl_ms(self) -> int:
        return self.options.room_ttl_s * 1000

    def spawn(self, coroutine: Any) -> None:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coroutine)
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
    return RedisBroker(options, history=settings.resume_history)


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
