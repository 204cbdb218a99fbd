"""SPEC.md §13's loopback host, the one definition the server's origin rule and the harness's SEC-004/010 use."""

from __future__ import annotations

import ipaddress

#: The only name that counts as loopback: `*.localhost` and other names do not (SPEC.md §13).
LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback_host(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1 (bracketed or not); any other name or address is not loopback."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
