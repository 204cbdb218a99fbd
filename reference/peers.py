"""Who a client is by address, and what one address may hold: the per-address limits of SPEC.md §10.

`TrustedProxies.client_address` is the address every per-address limit counts (SEC-007): the TCP peer's, or,
when the peer is a proxy the deployment trusts, the address that proxy reports in `X-Forwarded-For`. A header
from anyone else is ignored, so a client cannot choose the address it is counted under.

`AddressBook` holds the counts: open WebSockets per address (LIMIT-006) and a token bucket of joins per address
and room (LIMIT-008). Buckets that have refilled are forgotten (they are as good as new ones), so the book holds
only addresses that joined a room recently. Addresses in `address_limit_exempt` are counted by neither.
"""

from __future__ import annotations

import ipaddress
from collections import Counter, OrderedDict
from collections.abc import Iterable

from roomwire.reference.ratelimit import TokenBucket

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """`10.0.0.1`, `10.0.0.0/8`, `::1` ... as networks (a bare address is a network of one).

    Raises:
        ValueError: an entry is neither an address nor a network.
    """
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


class TrustedProxies:
    """The proxies whose `X-Forwarded-For` the server believes (SEC-007); none by default."""

    def __init__(self, networks: Iterable[str]) -> None:
        self.networks = parse_networks(networks)

    def trusts(self, address: str) -> bool:
        parsed = _address(address)
        return parsed is not None and any(parsed in network for network in self.networks)

    def client_address(self, peer: str, forwarded_for: str | None) -> str:
        """The peer's address; behind trusted proxies, the rightmost `X-Forwarded-For` hop that is not one of them.

        Each proxy appends the address it saw, so everything left of the first untrusted hop (counted from the
        right) was written by the client itself and proves nothing. A hop that is not an address ends the walk.
        """
        if not forwarded_for or not self.networks or not self.trusts(peer):
            return peer
        client = peer
        for hop in reversed(forwarded_for.split(",")):
            parsed = _address(hop)
            if parsed is None:
                break
            client = str(parsed)
            if not any(parsed in network for network in self.networks):
                break
        return client


class AddressBook:
    """Open WebSockets per address (LIMIT-006) and joins per address and room (LIMIT-008)."""

    def __init__(
        self, *, max_connections: int, join_burst: int, join_rate_per_min: int, exempt: Iterable[str] = ()
    ) -> None:
        self.max_connections = max_connections  # 0: no limit
        self._join_burst = float(join_burst)
        self._join_rate = join_rate_per_min / 60.0
        self._exempt = frozenset(exempt)
        self._open: Counter[str] = Counter()
        self._joins: OrderedDict[tuple[str, str], TokenBucket] = OrderedDict()  # least recently used first

    def exempt(self, address: str) -> bool:
        return address in self._exempt

    def take_connection(self, address: str) -> bool:
        """LIMIT-006: count a connection from `address`; False when that address is at its limit."""
        limit = self.max_connections
        if limit and not self.exempt(address) and self._open[address] >= limit:
            return False
        self._open[address] += 1
        return True

    def release_connection(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]

    def take_join(self, address: str, room: str, now: float) -> float:
        """LIMIT-008: 0.0 when `address` may join `room` now (and it is counted), else seconds until it may."""
        if self.exempt(address):
            return 0.0
        self._forget_full(now)
        key = (address, room)
        bucket = self._joins.pop(key, None)
        if bucket is None:
            bucket = TokenBucket(self._join_rate, self._join_burst, now)
        self._joins[key] = bucket
        return 0.0 if bucket.take(now) else bucket.wait(now)

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled since their last use, oldest first (they equal new ones)."""
        joins = self._joins
        while joins:
            key, bucket = next(iter(joins.items()))
            if bucket.full_at() > now:
                return
            del joins[key]

    @property
    def tracked(self) -> tuple[int, int]:
        """(addresses with open connections, address-room pairs with a join bucket): for tests and health."""
        return len(self._open), len(self._joins)
