"""A reference server per test (port 0, loopback), and the attack target pointing at it, at a small scale."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from roomwire.attacks.target import AttackTarget, Bounds, resolve
from roomwire.reference.server import RunningServer
from tests.reference.helpers import serving

#: Small enough to run each attack in seconds, large enough to cross the reference's default limits.
CHEAP = Bounds(max_seconds=4.0, scale=0.2)


def target_of(server: RunningServer, bounds: Bounds = CHEAP, **options: Any) -> AttackTarget:
    return resolve(server.url, bounds=bounds, **options)


@asynccontextmanager
async def attacked(**settings: Any) -> AsyncIterator[tuple[RunningServer, AttackTarget]]:
    async with serving(**settings) as server:
        yield server, target_of(server)
