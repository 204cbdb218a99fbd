"""The ASGI endpoint of `/api/v1/ws/chat/{room_id}`: admit or refuse the upgrade, then run a `Connection`.

It is plain ASGI, mounted in front of the Quart app (`app.py`), because Quart's WebSocket wrapper costs more per
frame than the whole broadcast (an unbounded receive queue, a `sleep(0)` and two signal dispatches per frame) and
would put an unbounded queue between Hypercorn's bounded one and the handler. Refusals are HTTP responses sent
before the handshake completes (CONN-002: 400, SEC-004: 403, shutting down: 503), through ASGI's
`websocket.http.response` extension; a server without it answers `websocket.close` with 403.

`ChatRouter` refuses a request for a host the server does not serve (SEC-006: 403) before anything else, the
page and `/healthz` included: a DNS-rebinding page must not read them either.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from roomwire.reference.handshake import (
    CHAT_PREFIX,
    Admission,
    Refusal,
    header,
    host_allowed,
    origin_allowed,
    parse_query,
    parse_room,
)
from roomwire.reference.hub import Hub

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ChatEndpoint:
    """Serves WebSocket scopes under `/api/v1/ws/chat/` (see the module docstring)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        decision = self.admit(scope)
        if isinstance(decision, Refusal):
            self.hub.metrics.refused.labels(str(decision.status)).inc()
            await refuse(scope, send, decision)
            return
        connection = self.hub.connection_class(self.hub, decision, scope, send)
        await connection.run(receive)

    def admit(self, scope: Scope) -> Admission | Refusal:
        """Shutting down -> 503; SEC-004/010 origin -> 403; CONN-002 room and query -> 400 (SEC-006: the router)."""
        if self.hub.shutting_down:
            return Refusal(503, "server restarting")
        headers = scope.get("headers", [])
        if not origin_allowed(header(headers, b"origin"), header(headers, b"host"), self.hub.settings.allowed_origins):
            return Refusal(403, "origin not allowed")
        room = parse_room(scope.get("raw_path") or scope["path"])  # as sent: `%61` is not `a`
        if isinstance(room, Refusal):
            return room
        query = parse_query(scope.get("query_string", b""))
        if isinstance(query, Refusal):
            return query
        nickname, lang, since = query
        client = scope.get("client")
        address = self.hub.proxies.client_address(client[0] if client else "", header(headers, b"x-forwarded-for"))
        return Admission(room=room, nickname=nickname, lang=lang, since=since, address=address)


async def refuse(scope: Scope, send: Send, refusal: Refusal) -> None:
    """Answer the upgrade with an HTTP status instead of accepting it."""
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008})  # ASGI: close before accept = 403
        return
    body = refusal.reason.encode("ascii")
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "websocket.http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})


class ChatRouter:
    """Refuses foreign hosts (SEC-006), then sends chat WebSocket scopes to the endpoint and everything else
    (HTTP, lifespan) to the Quart app."""

    def __init__(self, app: AsgiApp, endpoint: ChatEndpoint) -> None:
        self.app = app
        self.endpoint = endpoint
        self.allowed_hosts = endpoint.hub.settings.allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "lifespan" and not host_allowed(header(scope.get("headers", []), b"host"), self.allowed_hosts):
            await self._refuse_host(scope, receive, send)
        elif kind == "websocket" and scope["path"].startswith(CHAT_PREFIX):
            await self.endpoint(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _refuse_host(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = Refusal(403, "host not allowed")
        self.endpoint.hub.metrics.refused.labels(str(refusal.status)).inc()
        if scope["type"] == "websocket":
            if (await receive())["type"] == "websocket.connect":
                await refuse(scope, send, refusal)
            return
        body = refusal.reason.encode("ascii")
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
