"""Every Redis command the broker runs, with the keys it touches: this instance's one way to Redis.

The helpers that talk to Redis (shared, outage, presence, budget) call a method named for what it does; the
key layout and the scripts' arguments stay here and in scripts.py. `Store` holds the current `Link` (a lost link
is replaced by `new_link`, never reused) and reads the instance's id from `Instance`, whose rules alone change it
(state.py). Every method may raise one of `link.LOST`; none catches it, except `lost`, which reports it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from redis import exceptions as redis_errors
from redis.exceptions import NoScriptError

from roomwire.reference.rooms.redis import scripts
from roomwire.reference.rooms.redis.config import HistoryBounds, RedisOptions
from roomwire.reference.rooms.redis.link import Link
from roomwire.reference.rooms.redis.scripts import BLOCK, Keys
from roomwire.reference.rooms.redis.state import Instance

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

#: The scripts of scripts.py, by the name `_run` knows them by.
_SCRIPTS = {name.lower(): getattr(scripts, name) for name in (
    "PUBLISH", "JOIN", "LEAVE_IF_PRESENT", "REAP_ROOM", "FORGET_ROOM", "STORE_NICKNAMES", "JUMP", "START",
    "HEARTBEAT", "CLAIM", "BUDGET",
)}  # fmt: skip


class Store:
    """This instance's Redis: the current link, and one method per command (see the module docstring)."""

    def __init__(
        self,
        options: RedisOptions,
        instance: Instance,
        *,
        bounds: HistoryBounds,
        on_message: Callable[[bytes, bytes], None],
        on_lost: Callable[[BaseException], None],
    ) -> None:
        self.options = options
        self.keys = Keys(options.prefix)
        self.instance = instance
        self.bounds = bounds
        self.link: Link | None = None
        self._on_message = on_message
        self._on_lost = on_lost
        self._scripts: dict[str, AsyncScript] = {}

    # --- the link ---------------------------------------------------------------------------------------------

    def new_link(self) -> Link:
        """A fresh generation of connections (not open yet), replacing the current one."""
        link = Link(self.options, self._on_message, self._on_lost, self.instance.me)
        self.link = link
        self._scripts = {name: link.client.register_script(source) for name, source in _SCRIPTS.items()}
        return link

    @property
    def reachable(self) -> bool:
        """The instance is healthy and its link alive: worth asking Redis rather than deciding alone."""
        return self.instance.healthy and self.link is not None and not self.link.closed

    def lost(self, exc: BaseException) -> None:
        """Report a failed command: the link ends, and the broker degrades and reconnects."""
        if self.link is not None:
            self.link.lost(exc)

    async def close(self) -> None:
        if self.link is not None:
            await self.link.close()

    def room_of(self, channel: bytes) -> str | None:
        return self.keys.room_of(channel)

    @property
    def _client(self) -> Any:
        assert self.link is not None
        return self.link.client

    async def _run(self, script: str, keys: list[str], *args: str | int | float | bytes) -> Any:
        """One Lua script of scripts.py (EVALSHA; loaded again after a Redis restart)."""
        return await self._scripts[script](keys=keys, args=args)

    def _room_args(self, room: str) -> list[str | int]:
        """The first ARGV of every room script (scripts._ROOM): where it is, and the bounds of its history."""
        bounds, ttl_s = self.bounds, self.options.room_ttl_s
        ttl_ms = int((bounds.empty_ttl_s if ttl_s is None else ttl_s) * 1000)
        return [self.keys.prefix, room, self.keys.channel(room), bounds.events, bounds.total_bytes, ttl_ms,
                bounds.empty_rooms]  # fmt: skip

    @property
    def _lease_ms(self) -> int:
        return int(self.options.lease_s * 1000)

    # --- rooms ------------------------------------------------------------------------------------------------

    async def subscribe(self, rooms: Iterable[str], *, ping: bool = False) -> None:
        """SUBSCRIBE to the rooms' channels (and this instance's heartbeat echo) and wait for Redis to confirm."""
        assert self.link is not None
        channels = [self.keys.channel(room) for room in rooms]
        await self.link.subscribe([self.keys.ping(self.instance.me), *channels] if ping else channels)

    async def unsubscribe_idle(self, pick: Callable[[], list[str]]) -> None:
        """UNSUBSCRIBE the rooms `pick` returns; it runs under the link's send lock (link.unsubscribe_idle)."""
        assert self.link is not None
        await self.link.unsubscribe_idle(lambda: [self.keys.channel(room) for room in pick()])

    async def join_room(
        self, room: str, member: str, nickname: str, fragment: bytes, *, capacity: int, history: bool, announce: bool
    ) -> Any:
        """The JOIN script: register the member and publish its join (`announce`: to the history too)."""
        keys = [*self.keys.room_keys(room), self.keys.instance_rooms(self.instance.me)]
        args = (member, nickname, capacity, int(history), fragment, int(announce))
        return await self._run("join", keys, *self._room_args(room), *args)

    async def publish_many(
        self, batches: Sequence[tuple[str, Sequence[bytes]]]
    ) -> list[tuple[int, int] | redis_errors.ResponseError]:
        """The PUBLISH script once per (room, fragments), all in one pipeline (one write, one read): for each, the
        first `seq` it took and its `ts`, or the error Redis answered (an `OutOfMemoryError`, say). A room may
        appear more than once; Redis runs them in this order. Raises one of `link.LOST` when the link fails."""
        if not self.reachable:  # lost, or recovering: the batch goes the outage path, in order
            raise redis_errors.ConnectionError("the Redis link is closed")
        script = self._scripts["publish"]
        replies = await self._publish_pipeline(script.sha, batches)
        again = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if again:  # Redis restarted (or flushed its scripts): load it, run the ones that did not run, in order
            script.sha = await self._client.script_load(script.script)
            retried = await self._publish_pipeline(script.sha, [batches[i] for i in again])
            for i, reply in zip(again, retried, strict=True):
                replies[i] = reply
        return [reply if isinstance(reply, redis_errors.ResponseError) else (int(reply[0]), int(reply[1]))
                for reply in replies]  # fmt: skip

    async def _publish_pipeline(self, sha: str, batches: Sequence[tuple[str, Sequence[bytes]]]) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        for room, fragments in batches:
            keys = self.keys.room_keys(room)
            pipe.evalsha(sha, len(keys), *keys, *self._room_args(room), *fragments)
        return list(await pipe.execute(raise_on_error=False))

    async def leave_room(self, room: str, member: str, fragment: bytes, *, store: bool) -> bytes | None:
        """The LEAVE_IF_PRESENT script: the leave's message, or None when someone else removed the member."""
        args = (*self._room_args(room), member, fragment, int(store))
        message = await self._run("leave_if_present", self.keys.room_keys(room), *args)
        return message if isinstance(message, bytes) else None

    async def forget_member(self, room: str, member: str) -> None:
        """HDEL the member without announcing it."""
        await self._client.hdel(self.keys.members(room), member)

    async def store_nicknames(self, room: str, entries: Sequence[tuple[str, str, bool]]) -> list[str]:
        """The STORE_NICKNAMES script for (member, nickname JSON, only if still there); the ids that were gone."""
        args = [room]
        for member, nickname, only_present in entries:
            args += [member, nickname, "1" if only_present else "0"]
        keys = [self.keys.members(room), self.keys.instance_rooms(self.instance.me), self.keys.bounds[0]]
        return [raw.decode() for raw in await self._run("store_nicknames", keys, *args)]

    async def forget_rooms(self, rooms: Iterable[str]) -> None:
        """The FORGET_ROOM script per room this instance has no member in any more: a reaper need not visit it."""
        me = self.instance.me
        for room in rooms:
            await self._run("forget_room", [self.keys.members(room), self.keys.instance_rooms(me)], room, me)

    async def publish_rename(self, room: str, message: bytes) -> None:
        await self._client.publish(self.keys.channel(room), message)

    async def history_of(self, room: str) -> list[bytes]:
        return list(await self._client.lrange(self.keys.history(room), 0, -1))

    async def lift_seq(self, room: str, seen: int) -> int:
        """The JUMP script: the room's counter past every outage range; the new counter."""
        return int(await self._run("jump", [self.keys.seq(room)], seen, BLOCK))

    # --- the instance -----------------------------------------------------------------------------------------

    async def take_lease(self, epoch: str, slot: int | None) -> tuple[str, int]:
        """The START script: the lease, Redis's epoch (ours if it has none), and a slot (kept if given)."""
        keys = [self.keys.epoch, self.keys.slots, self.keys.instances]
        kept = "" if slot is None else slot
        current, given = await self._run("start", keys, epoch, self.instance.me, self._lease_ms, kept)
        return current.decode(), int(given)

    async def renew_lease(self) -> str:
        """The HEARTBEAT script: `ok`, `reaped` or `lost` (state.Recovery)."""
        me = self.instance.me
        keys = [self.keys.instances, self.keys.reaped(me), self.keys.epoch]
        return str((await self._run("heartbeat", keys, me, self._lease_ms, self.instance.epoch)).decode())

    async def echo(self) -> None:
        """Publish to this instance's own ping channel: its subscriber proves it still hears."""
        await self._client.publish(self.keys.ping(self.instance.me), b"1")

    async def count_instances(self) -> int:
        return int(await self._client.zcard(self.keys.instances))

    async def claim_dead(self, marker_ttl_ms: int) -> tuple[str, list[str]] | None:
        """The CLAIM script: one instance whose lease expired, and its rooms; None when there is none."""
        keys = [self.keys.instances, self.keys.reaping]
        args = (self.instance.me, self._lease_ms, self.keys.prefix, marker_ttl_ms)
        claimed = await self._run("claim", keys, *args)
        if not claimed:
            return None
        return claimed[0].decode(), [raw.decode() for raw in claimed[1:]]

    async def reap_room(self, room: str, instance: str, reason: str) -> int:
        """The REAP_ROOM script: announce every member of `instance` in `room` as left; how many."""
        return int(await self._run("reap_room", self.keys.room_keys(room), *self._room_args(room), instance, reason))

    async def reaped(self, instance: str) -> None:
        """The dead instance's members are announced: its claim and its room set go."""
        await self._client.zrem(self.keys.reaping, instance)
        await self._client.delete(self.keys.instance_rooms(instance))

    async def own_rooms(self) -> set[str]:
        stored = await self._client.smembers(self.keys.instance_rooms(self.instance.me))
        return {raw.decode() if isinstance(raw, bytes) else raw for raw in stored}

    async def drop_lease(self) -> None:
        await self._client.zrem(self.keys.instances, self.instance.me)
        await self._client.delete(self.keys.instance_rooms(self.instance.me))

    # --- the AI budget ----------------------------------------------------------------------------------------

    async def admit(self, window_ms: int, per_minute: int, member: str, told: Sequence[tuple[str, int]]) -> int:
        """The BUDGET script: 0 (admitted) or the whole seconds to wait; `told` are (member, age ms) admitted
        while Redis was lost, counted first."""
        args: list[str | int] = [window_ms, per_minute, member]
        for name, age in told:
            args += [name, age]
        return int(await self._run("budget", [self.keys.ai_budget], *args))

    async def withdraw(self, member: str) -> None:
        """Take one admission out of the shared AI budget's window."""
        await self._client.zrem(self.keys.ai_budget, member)
