"""Who gets in, over real sockets: the room as sent, the host served, exact origins, the client's address behind
trusted proxies, and joins of a room per address (CONN-002, SEC-006/007/008, LIMIT-008; issue 13, finding 7)."""

from __future__ import annotations

import httpx
import pytest

from roomwire.reference.server import RunningServer
from tests.reference.helpers import Client, host_port, raw_upgrade, serving

CHAT = "/api/v1/ws/chat/"


async def status_of(server: RunningServer, path: str, headers: dict[str, str] | None = None) -> int:
    status, _, _, writer = await raw_upgrade(server, path, headers)
    writer.close()
    return status


async def test_a_percent_escaped_room_is_refused_not_decoded_into_another() -> None:
    async with serving() as server, Client.connect(server.ws("a")) as a:
        await a.joined()
        assert await status_of(server, CHAT + "%61") == 400  # never room `a`
        assert await status_of(server, CHAT + "a") == 101
        assert [f["event"] for f in await a.quiet(0.3) if f["type"] == "system"] == ["join", "leave"]  # the real one


@pytest.mark.parametrize("path", ["/healthz", "/", "/metrics"])
async def test_a_foreign_host_is_refused_everywhere_the_page_and_healthz_included(path: str) -> None:
    async with serving() as server, httpx.AsyncClient(base_url=server.http) as http:
        response = await http.get(path, headers={"Host": "evil.example"})
        assert response.status_code == 403 and response.text == "host not allowed"
        assert (await http.get("/healthz")).status_code == 200  # by address it is served


async def test_the_dns_rebinding_upgrade_is_refused_and_a_listed_name_is_served() -> None:
    rebinding = {"Host": "evil.example", "Origin": "http://evil.example"}  # own host by SEC-004's rule
    async with serving() as server:
        assert await status_of(server, CHAT + "r", rebinding) == 403  # SEC-006
    async with serving(allowed_hosts=("chat.example",)) as server:
        assert await status_of(server, CHAT + "r", {"Host": "chat.example", "Origin": "http://chat.example"}) == 101
        assert await status_of(server, CHAT + "r", rebinding) == 403
        _, port = host_port(server)
        assert await status_of(server, CHAT + "r", {"Host": f"127.0.0.1:{port}"}) == 101  # addresses stay served


async def test_a_loopback_origin_is_allowed_only_on_a_loopback_host() -> None:
    async with serving() as server:
        _, port = host_port(server)
        assert await status_of(server, CHAT + "r", {"Origin": "http://localhost:5173"}) == 101  # development
        public = {"Host": f"192.0.2.10:{port}"}  # the server reached by another address
        assert await status_of(server, CHAT + "r", {**public, "Origin": "http://localhost:5173"}) == 403  # SEC-010
        assert await status_of(server, CHAT + "r", {**public, "Origin": f"http://192.0.2.10:{port}"}) == 101


async def test_forwarded_for_counts_only_from_a_trusted_proxy() -> None:
    """SEC-007: behind a trusted proxy each client is its own address; anyone else's header changes nothing."""
    for trusted, second in (((), 1013), (("127.0.0.1",), None)):
        async with serving(max_connections_per_address=1, trusted_proxies=trusted) as server:
            first_ff = {"X-Forwarded-For": "198.51.100.1"}
            async with Client.connect(server.ws("r"), additional_headers=first_ff) as a:
                await a.joined()
                async with Client.connect(server.ws("r"), additional_headers={"X-Forwarded-For": "198.51.100.2"}) as b:
                    if second is None:
                        await b.joined()
                    else:
                        await b.error("too_many_connections")
                        assert (await b.closed())[0] == second


async def test_join_churn_in_a_room_is_refused_unannounced_with_retry_after() -> None:
    """LIMIT-008: join/leave cycles beyond join_burst are refused like LIMIT-006, and the room hears nothing."""
    async with serving(join_burst=30, join_rate_per_min=1) as server, Client.connect(server.ws("r")) as watcher:
        await watcher.joined()  # the first of the 30
        for _ in range(29):
            async with Client.connect(server.ws("r", "nickname=churn")) as c:
                await c.joined()
        for _ in range(29):  # each cycle announced once, in order
            assert (await watcher.event("join"))["nickname"] == "churn"
            assert (await watcher.event("leave"))["nickname"] == "churn"
        async with Client.connect(server.ws("r", "nickname=churn")) as refused:
            error = await refused.error("too_many_connections")
            assert error["retry_after"] >= 1
            assert (await refused.closed())[0] == 1013
            assert not [f for f in refused.frames if f.get("event") == "welcome"]
        presence = [f["event"] for f in await watcher.quiet(0.3) if f["type"] == "system"]
        assert presence == []  # the refused one was never announced
        async with Client.connect(server.ws("elsewhere", "nickname=churn")) as other:
            await other.joined()  # per room: another room is open to the same address
        spoofed = {"X-Forwarded-For": "198.51.100.9"}  # not a trusted proxy: changes nothing
        async with Client.connect(server.ws("r", "nickname=churn"), additional_headers=spoofed) as again:
            await again.error("too_many_connections")


async def test_join_limits_are_advertised() -> None:
    async with serving(join_burst=40, join_rate_per_min=12) as server, Client.connect(server.ws("r")) as a:
        limits = (await a.welcome())["limits"]
        assert (limits["join_burst"], limits["join_rate_per_min"]) == (40, 12)


async def test_no_limits_lifts_the_per_address_limits_for_benchmarks() -> None:
    async with serving(no_limits=True, max_connections_per_address=1) as server, Client.connect(server.ws("r")) as a:
        limits = (await a.welcome())["limits"]
        assert limits["join_burst"] == limits["join_rate_per_min"] == 1_000_000  # advertised as enforced
        for _ in range(32):  # past join_burst, with a second connection open: neither limit applies
            async with Client.connect(server.ws("r")) as c:
                await c.joined()
