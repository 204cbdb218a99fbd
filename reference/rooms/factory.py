"""The broker a deployment asks for: `ROOMWIRE_BROKER_URL` (`--broker`) names it by its scheme.

Apart from broker.py so that the interface imports none of its implementations (the wing imports in one
direction: implementations depend on broker.py, this module on them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from roomwire.reference.rooms.broker import Broker
from roomwire.spec.errors import ConfigError

if TYPE_CHECKING:
    from roomwire.reference.settings import Settings

BrokerFactory = Callable[["Settings"], Broker]


def create_broker(settings: Settings) -> Broker:
    """The broker for `settings.broker_url`: `memory://` (one process) or `redis://`/`rediss://` (several).

    Implementations are imported on demand: a memory deployment never imports redis-py.

    Raises:
        ConfigError: the URL's scheme is unknown, or the Redis URL is invalid or its server does not answer.
    """
    scheme, _, _ = settings.broker_url.partition("://")
    if scheme == "memory":
        from roomwire.reference.rooms.memory import MemoryBroker

        return MemoryBroker(
            history=settings.resume_history,
            history_bytes=settings.resume_history_bytes,
            empty_room_ttl_s=settings.empty_room_ttl_s,
            empty_rooms_kept=settings.empty_rooms_kept,
        )
    if scheme in ("redis", "rediss"):
        from roomwire.reference.rooms.redis.broker import create_redis_broker

        return create_redis_broker(settings)
    raise ConfigError(f"ROOMWIRE_BROKER_URL: unknown broker {settings.broker_url!r} (memory:// or redis://)")
