"""`RedisBroker`: the rooms of several reference instances on one Redis (`redis://`, docs/scaleout.md).

broker.py      `RedisBroker`, the `Broker` for several instances, and `create_redis_broker`
config.py      `RedisOptions`: the tunables the broker URL carries, and the URL without its password
link.py        `Link`: this instance's command pool and its one subscriber connection, never retried silently
scripts.py     the key layout and the Lua scripts that make each room change atomic across instances
codec.py       the compact encoding of room events on the room's channel and in its history
room.py        `LocalRoom`: one room as this instance sees it (delivery in `seq` order, mirror, outage range)
shared.py      the healthy path: join, publish, leave and rename, one script each
outage.py      while Redis is lost (local rooms keep working) and the reconciliation when it is back
presence.py    leases, the heartbeat, reaping dead instances, reconnecting
budget.py      `RedisBudget`: the AI budget shared by every instance (LIMIT-005)
"""
