"""The Redis broker's options, all carried by the one broker URL, and how the URL is shown safely.

`ROOMWIRE_BROKER_URL` / `--broker` selects the broker; for Redis, the same URL also carries this broker's own
tunables as query parameters, so a deployment configures it with one setting and `Settings` needs no new
fields (every other query parameter is redis-py's own, e.g. `?ssl_cert_reqs=none`, `?db=2`):

    redis://[:password@]host[:port][/db]?prefix=roomwire&lease=15&timeout=2&backoff=5

| parameter | default    | meaning                                                                                 |
|-----------|------------|-----------------------------------------------------------------------------------------|
| `prefix`  | `roomwire` | first part of every key and channel, so several deployments can share one Redis          |
| `lease`   | `15`       | seconds an instance's presence lease lasts; survivors announce a dead instance's members |
|           |            | as left between `lease` and about `lease * 4 / 3` seconds after its last heartbeat       |
| `timeout` | `2`        | seconds a Redis command or connect may take before the instance counts Redis as lost     |
| `backoff` | `5`        | cap, in seconds, of the reconnect backoff (full jitter, from 0.1 s doubling); at most    |
|           |            | `lease / 2`, so that after a Redis restart every instance is back before any lease ends  |
| `room_ttl`| (setting)  | seconds an empty room's `seq` and history are kept in Redis; default `empty_room_ttl_s`  |
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from roomwire.spec.errors import ConfigError

SETTING = "ROOMWIRE_BROKER_URL"
_OURS = ("prefix", "lease", "timeout", "backoff", "room_ttl")
_PREFIX = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@dataclass(frozen=True)
class HistoryBounds:
    """What the rooms' history may hold in Redis (RECON-005, the `Settings` `memory://` has too): events per
    room, bytes of all rooms' events together (the oldest event of any room goes first), and how long and how
    many rooms are kept once empty."""

    events: int = 100  # `resume_history`
    total_bytes: int = 64 * 1024 * 1024  # `resume_history_bytes`
    empty_rooms: int = 1000  # `empty_rooms_kept`
    empty_ttl_s: float = 300.0  # `empty_room_ttl_s`, unless the URL's `room_ttl` says otherwise


@dataclass(frozen=True, kw_only=True)
class RedisOptions:
    """Where Redis is and how this broker uses it (see the module docstring)."""

    url: str  # the URL for redis-py, without our parameters
    prefix: str = "roomwire"
    lease_s: float = 15.0
    timeout_s: float = 2.0
    backoff_s: float = 5.0
    room_ttl_s: int | None = None  # None: the bounds' `empty_ttl_s`

    def __post_init__(self) -> None:
        if not _PREFIX.match(self.prefix):
            raise ConfigError(f"{SETTING}: prefix must match {_PREFIX.pattern}")
        if not (math.isfinite(self.lease_s) and self.lease_s >= 0.5):
            raise ConfigError(f"{SETTING}: lease must be at least 0.5 seconds")
        if not 0 < self.timeout_s <= self.lease_s / 2:
            raise ConfigError(f"{SETTING}: timeout must be positive and at most lease / 2")
        if not 0 < self.backoff_s <= self.lease_s / 2:
            raise ConfigError(f"{SETTING}: backoff must be positive and at most lease / 2")
        if self.room_ttl_s is not None and self.room_ttl_s < 1:
            raise ConfigError(f"{SETTING}: room_ttl must be at least 1 second")

    @classmethod
    def from_url(cls, url: str) -> RedisOptions:
        """Split `url` into redis-py's URL and our tunables.

        Raises:
            ConfigError: a tunable does not parse or is out of range (the message never shows a password).
        """
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ConfigError(f"{SETTING}: expected redis://host[:port][/db], got {redact(url)!r}")
        ours: dict[str, str] = {}
        theirs: list[tuple[str, str]] = []
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key in _OURS:
                ours[key] = value
            else:
                theirs.append((key, value))
        plain = urlunsplit(parts._replace(query=urlencode(theirs)))
        try:
            return cls(
                url=plain,
                prefix=ours.get("prefix", "roomwire"),
                lease_s=float(ours.get("lease", 15.0)),
                timeout_s=float(ours.get("timeout", 2.0)),
                backoff_s=float(ours.get("backoff", 5.0)),
                room_ttl_s=int(ours["room_ttl"]) if "room_ttl" in ours else None,
            )
        except ValueError as exc:
            raise ConfigError(f"{SETTING}: a parameter of {redact(url)!r} does not parse ({exc})") from None

    @property
    def shown(self) -> str:
        """The URL for logs and errors: no password."""
        return redact(self.url)


def redact(url: str) -> str:
    """`url` with any password replaced by `***` (SEC-003 keeps secrets out of logs and errors)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
