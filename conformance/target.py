"""The server under test as URL templates: where each client connects, and the HTTP side of the same host.

A template names the chat endpoint with a `{room_id}` placeholder, e.g.
`wss://chat.example.com/api/v1/ws/chat/{room_id}`; a URL without the placeholder gets `/{room_id}` appended
(so `ws://127.0.0.1:8000/api/v1/ws/chat` works). Several templates describe several instances of one
deployment (issue 7): the driver places client `n` of a check on endpoint `n % len(endpoints)`, so a room's
members are spread over the instances and every broadcast check becomes a cross-instance check.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from roomwire.spec.errors import UsageError

PLACEHOLDER = "{room_id}"


Query = Mapping[str, str] | Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Endpoint:
    """One chat endpoint template."""

    template: str
    secure: bool
    host: str
    port: int
    path_template: str
    query: tuple[tuple[str, str], ...] = ()

    def url(self, room_id: str, params: Query | None = None, *, raw_room: bool = False) -> str:
        """The URL for `room_id`; `raw_room` percent-encodes a deliberately invalid room name instead. `params` as
        pairs may repeat a name (SPEC.md §1: the first value counts)."""
        room = quote(room_id, safe="") if raw_room else room_id
        path = self.path_template.replace(PLACEHOLDER, room)
        given = list(params.items()) if isinstance(params, Mapping) else list(params or ())
        pairs = list(self.query) + given
        query = f"?{urlencode(pairs, safe=':')}" if pairs else ""
        return f"{'wss' if self.secure else 'ws'}://{self.netloc}{path}{query}"

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.secure else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def http_base(self) -> str:
        """`http(s)://host:port` of the same server, for the HTTP probes (SEC-003, SEC-005)."""
        return f"{'https' if self.secure else 'http'}://{self.netloc}"

    @property
    def own_origin(self) -> str:
        """The Origin a page served by this host would send."""
        return self.http_base

    def path_for(self, room_id: str) -> str:
        return self.path_template.replace(PLACEHOLDER, quote(room_id, safe=""))


def parse_endpoint(text: str) -> Endpoint:
    """Read one template; raises UsageError naming what is wrong with it."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("ws", "wss"):
        raise UsageError(f"target URL must start with ws:// or wss://, not {text!r}")
    if not parts.hostname:
        raise UsageError(f"target URL has no host: {text!r}")
    try:
        port = parts.port or (443 if parts.scheme == "wss" else 80)
    except ValueError as exc:
        raise UsageError(f"target URL has a bad port: {text!r}") from exc
    path = parts.path or ""
    if PLACEHOLDER not in path:
        path = f"{path.rstrip('/')}/{PLACEHOLDER}"
    if path.count(PLACEHOLDER) != 1:
        raise UsageError(f"target URL must hold {PLACEHOLDER} once: {text!r}")
    return Endpoint(
        template=text.strip(),
        secure=parts.scheme == "wss",
        host=parts.hostname,
        port=port,
        path_template=path,
        query=tuple(parse_qsl(parts.query, keep_blank_values=True)),
    )


@dataclass(frozen=True)
class Target:
    """Every endpoint of the deployment under test, plus how to trust its TLS certificate."""

    endpoints: tuple[Endpoint, ...]
    ca_file: str | None = None

    def endpoint(self, index: int) -> Endpoint:
        return self.endpoints[index % len(self.endpoints)]

    @property
    def secure(self) -> bool:
        return any(e.secure for e in self.endpoints)

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client TLS context trusting `ca_file` (or the system's CAs); None for ws:// only targets."""
        if not self.secure:
            return None
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"--ca-file {self.ca_file!r} cannot be loaded: {exc}") from exc


def parse_target(urls: Sequence[str], ca_file: str | None = None) -> Target:
    """A Target from the command line's URLs (at least one)."""
    if not urls:
        raise UsageError("no target URL given")
    target = Target(endpoints=tuple(parse_endpoint(url) for url in urls), ca_file=ca_file)
    if ca_file is not None:
        target.ssl_context()  # fail now, as a usage error, rather than in every check
    return target
