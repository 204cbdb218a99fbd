"""The fixture the Redis tests of this folder share: a real redis-server of their own, stopped after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scaleout.redis_server import RedisServer, redis_server


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server
