"""Where an attack goes and how far it may go: the chat URL, loopback only unless the user says otherwise, and the
bounds every attack keeps (a deadline and a scale).

`resolve` refuses a target whose host resolves to anything but loopback addresses unless `allow_remote` is set:
these scripts are for your own server, and even then they are loud. `Bounds.scale` shrinks every count an attack
makes (the tests run them at a fraction of the default); `Bounds.max_seconds` caps every phase that waits.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path

from roomwire.conformance.target import Endpoint, parse_endpoint
from roomwire.spec.errors import UsageError


@dataclass(frozen=True)
class Bounds:
    """How far an attack goes (see the module docstring)."""

    max_seconds: float = 20.0
    scale: float = 1.0

    def count(self, full: int, least: int = 1) -> int:
        """`full` at scale 1, never fewer than `least`."""
        return max(least, round(full * self.scale))


@dataclass(frozen=True)
class AttackTarget:
    """The server under attack and what the user told us about it."""

    endpoint: Endpoint
    loopback: bool
    bounds: Bounds = Bounds()
    server_log: Path | None = None  # the server's log file, for the log attack (class 5)
    pid: int | None = None  # the server's process, for memory figures (class 4)
    double_url: str | None = None  # the Gemini double it uses, for upstream text (class 5)

    @property
    def http(self) -> str:
        return self.endpoint.http_base

    def url(self, room: str, query: str = "") -> str:
        return self.endpoint.url(room) + (f"?{query}" if query else "")

    def source(self, index: int) -> str | None:
        """A distinct loopback source address (127.0.0.2, 127.0.0.3, ...) for a bystander that must not share the
        attacker's per-address budgets; None (the default route) for a remote target."""
        return f"127.0.{1 + index // 250}.{2 + index % 250}" if self.loopback and self.endpoint.host != "::1" else None


def is_loopback(host: str) -> bool:
    """Whether every address `host` resolves to is a loopback address."""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError as exc:
        raise UsageError(f"cannot resolve {host!r}: {exc.strerror or exc}") from None
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    return bool(addresses) and all(address.is_loopback for address in addresses)


def resolve(url: str, *, allow_remote: bool = False, **options: object) -> AttackTarget:
    """The target for `url` (a `ws://host:port` base or the chat URL with `{room_id}`).

    Raises:
        UsageError: the URL is wrong, or it is not loopback and `allow_remote` is not set.
    """
    text = url if "://" in url else f"ws://{url}"
    if "{room_id}" not in text:
        text = text.rstrip("/") + "/api/v1/ws/chat/{room_id}"
    endpoint = parse_endpoint(text)
    loopback = is_loopback(endpoint.host)
    if not loopback and not allow_remote:
        raise UsageError(
            f"{endpoint.host} is not a loopback address; these attacks are for your own server: pass --allow-remote "
            "to attack one that is not on this machine"
        )
    return AttackTarget(endpoint=endpoint, loopback=loopback, **options)  # type: ignore[arg-type]
