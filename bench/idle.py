"""Idle connections: the server's resident memory per open WebSocket that sends nothing.

`count` members in rooms of 10 (so a server that announces joins does ten, not `count`, broadcasts per join),
opened 200 at a time from source addresses spread over 127.0.0.2 and up (a server may limit connections per
address; loopback routes all of 127/8 here). Memory is the server's RSS after a warm-up room versus after all
connections are open and the joins are quiet; the difference divided by the connections actually open is the
figure. A server or kernel limit reached early is reported, not hidden: `connections` says how many were open.
"""

from __future__ import annotations

import asyncio
import resource

from .servers import HOST, Server
from .wsclient import BenchConnection, open_connection

BATCH = 200
PER_ADDRESS = 100
ROOM = 10


def raise_fd_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit (children inherit it); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def idle_memory(server: Server, count: int, settle: float = 1.0) -> dict[str, float]:
    """Open `count` idle connections; report RSS per connection and how many opened."""
    connections: list[BenchConnection] = []
    try:
        connections += await _open(server.port, range(ROOM))
        await asyncio.sleep(settle)
        before = server.rss_bytes()
        failures = 0
        for start in range(ROOM, count + ROOM, BATCH):
            results = await asyncio.gather(
                *(_open_one(server.port, i) for i in range(start, min(start + BATCH, count + ROOM))),
                return_exceptions=True,
            )
            opened = [r for r in results if isinstance(r, BenchConnection)]
            connections += opened
            failures += len(results) - len(opened)
            if failures > count // 10:
                break
        await asyncio.sleep(settle)
        alive = sum(c.is_open for c in connections) - ROOM
        after = server.rss_bytes()
        return {
            "connections": float(alive),
            "connect_failures": float(failures),
            "server_rss_mib": after / 2**20,
            "rss_per_connection_kib": (after - before) / max(alive, 1) / 1024,
        }
    finally:
        for connection in connections:
            connection.abort()


async def _open(port: int, indices: range) -> list[BenchConnection]:
    return list(await asyncio.gather(*(_open_one(port, i) for i in indices)))


async def _open_one(port: int, index: int) -> BenchConnection:
    source = index // PER_ADDRESS  # 127.0.0.2, 127.0.0.3, ...: PER_ADDRESS connections each
    return await open_connection(
        HOST,
        port,
        f"/api/v1/ws/chat/idle{index // ROOM}?nickname=i{index}",
        local_host=f"127.0.{source // 250}.{source % 250 + 2}",
        within=30.0,
    )
