"""`RedisBroker`: the rooms of several reference instances on one Redis (`redis://`, docs/scaleout.md).

broker.py      `RedisBroker`, the `Broker` for several instances: wires the parts below, and `create_redis_broker`
state.py       what the instance knows and every rule that changes it: its id, health (a transition table),
               rooms, members, delivery in `seq` order, mirror and outage range; no I/O
store.py       `Store`: every Redis command the broker runs, with the keys it touches; the current `Link`
shared.py      the healthy path: join, publish, leave and rename, one script each
batch.py       `Batcher`: every chat message of one event-loop turn published in one round trip, in order
outage.py      while Redis is lost (local rooms keep working) and the reconciliation when it is back
presence.py    leases, the heartbeat, reaping dead instances, reconnecting
budget.py      `RedisBudget`: the AI budget shared by every instance (LIMIT-005)
scripts.py     the key layout and the Lua scripts that make each room change atomic across instances
codec.py       the compact encoding of room events on the room's channel and in its history
link.py        `Link`: this instance's command pool and its one subscriber connection, never retried silently
stopping.py    `stop`: background tasks cancelled until they end, within a bound, so a close always ends
config.py      `RedisOptions`: the tunables the broker URL carries, and the URL without its password

Imports go one way, down this list read from the bottom: shared, outage, presence and budget get a `Store` and
the `Instance` (or one of its rooms), never the broker.
"""
