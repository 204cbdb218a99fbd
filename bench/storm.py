"""A reconnect storm: after a restart (1012) every client of a server comes back within seconds (CLIENT-003).

`clients` members in rooms of `room_size`, member `i` in room `i % rooms`, so that every room fills during the
whole storm as rooms of reconnecting clients do; at most `inflight` handshakes at once, from source addresses
127.0.0.2 and up (`PER_ADDRESS` each, below the spec's 64 pending connections per address, LIMIT-009: a server's
per-address limits are not what is measured, and a storm from many clients never meets them). A client is
admitted when its upgrade is answered with 101 and the server has not closed it by the end (a server that
upgrades and then refuses, 1013, refused it); what follows the upgrade (the welcome, the join announced to the
room) is counted as frames. The window runs from the first connect until every client is upgraded or failed and
no frame has arrived for `SETTLE` seconds; server CPU over the window ÷ admitted connections is the figure: what
admitting one connection costs the server (handshake, welcome, join broadcast). A refusal is counted, never
retried: with the spec's limits a storm of this size must be admitted whole.
"""

from __future__ import annotations

import asyncio
import time

from .servers import HOST, Server
from .wsclient import BenchConnection, open_connection

CLIENTS = 2000
ROOM_SIZE = 10
INFLIGHT = 200
PER_ADDRESS = 50  # at most this many of one address in flight: within LIMIT-009's 64
SETTLE = 0.5


async def storm(
    server: Server,
    clients: int = CLIENTS,
    room_size: int = ROOM_SIZE,
    inflight: int = INFLIGHT,
    within: float = 60.0,
    rooms_named: str = "storm",
) -> dict[str, float]:
    """Admit `clients` at once (see the module docstring); server CPU per admitted connection and the counts.
    Rooms are `rooms_named` + a number (`bench.storms` names each storm's rooms afresh)."""
    rooms = max(1, clients // room_size)
    frames = [0]
    slots = asyncio.Semaphore(inflight)
    opened: list[BenchConnection] = []
    refused = 0

    def on_text(payload: bytes) -> None:
        frames[0] += 1

    async def client(index: int) -> None:
        nonlocal refused
        source = index // PER_ADDRESS
        async with slots:
            try:
                connection = await open_connection(
                    HOST, server.port, f"/api/v1/ws/chat/{rooms_named}{index % rooms}?nickname=s{index}", on_text,
                    local_host=f"127.0.{source // 250}.{source % 250 + 2}", within=within,
                )  # fmt: skip
            except (OSError, TimeoutError):
                refused += 1
                return
        opened.append(connection)

    cpu, started = server.cpu_seconds(), time.monotonic()
    try:
        await asyncio.gather(*(client(i) for i in range(clients)))
        admitted_at = time.monotonic()
        await _quiet(frames, started + within)
        cpu = server.cpu_seconds() - cpu
        admitted = sum(c.is_open for c in opened)  # a server that upgrades and then closes (1013) refused too
        return {
            "server_cpu_ms_per_admission": 1000 * cpu / max(1, admitted),
            "admitted": float(admitted),
            "refused": float(clients - admitted),
            "failed_upgrades": float(refused),
            "admission_seconds": admitted_at - started,
            "admissions_per_s": admitted / max(admitted_at - started, 1e-9),
            "frames_per_admission": frames[0] / max(1, admitted),
        }
    finally:
        for connection in opened:
            connection.abort()


async def _quiet(frames: list[int], deadline: float) -> None:
    """Until no frame has arrived for `SETTLE` seconds (or the deadline)."""
    last = -1
    while frames[0] != last and time.monotonic() < deadline:
        last = frames[0]
        await asyncio.sleep(SETTLE)
