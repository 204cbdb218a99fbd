"""Server-wide behaviour: a broker that loses and regains its store tells everyone (notices degraded/restored)."""

from __future__ import annotations

import httpx

from roomwire.reference.rooms.memory import MemoryBroker
from tests.reference.helpers import Client, serving


class Flaky(MemoryBroker):
    """A memory broker whose health a test switches."""

    up = True

    @property
    def healthy(self) -> bool:
        return self.up

    def set(self, up: bool) -> None:
        self.up = up
        self._notify(up)


async def test_broker_health_reaches_clients_and_healthz() -> None:
    broker = Flaky()
    async with serving(broker=broker) as server, httpx.AsyncClient(base_url=server.http) as http:
        async with Client.connect(server.ws("r")) as a, Client.connect(server.ws("r", "lang=en")) as b:
            await a.joined()
            await b.joined()
            broker.set(False)
            assert (await a.event("notice"))["code"] == "degraded"
            assert (await b.event("notice"))["content"] == "Some features are temporarily limited."
            response = await http.get("/healthz")
            assert response.status_code == 503 and response.json()["broker"] == "degraded"
            broker.set(True)
            assert (await a.event("notice"))["code"] == "restored"
            assert (await http.get("/healthz")).json()["status"] == "ok"
            a.check()


async def test_shutdown_twice_is_one_shutdown() -> None:
    async with serving() as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        first = server.hub.begin_shutdown()
        assert server.hub.begin_shutdown() is first
        await first
        assert (await a.closed())[0] == 1012
        assert server.hub.gauges()["connections"] == 0
