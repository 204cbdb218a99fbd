"""The rooms wing of the reference server: who is in a room, in what order its events go, and the AI budget.

A connection (reference/connection.py) only calls a `Broker` and receives `RoomEvent`s; everything that spans
connections (presence, `seq`, fan-out, resume history, the server-wide AI budget) lives here.

    broker.py      the interface: `Broker`, `Member`, `RoomEvent`, `EventDraft`, `Joined`, `RoomFull`
    memory.py      `MemoryBroker`: every room in this process (`memory://`, the default)
    history.py     the events kept for resume, per room and under one byte budget (`HistoryLedger`)
    budget.py      the AI budget a broker provides (LIMIT-005): `Budget`, `Grant`, `LocalBudget`
    factory.py     `create_broker`: the broker `ROOMWIRE_BROKER_URL` names
    redis/         `RedisBroker`: rooms across instances on one Redis (`redis://`; redis/__init__.py maps it)

Imports go one way: broker.py and budget.py import nothing of the wing; history.py imports broker.py; memory.py
and redis/ import them; factory.py imports the implementations.
docs/reference.md describes the interface; docs/scaleout.md the Redis broker.
"""
