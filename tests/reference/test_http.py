"""The HTTP side: /healthz, /metrics (own registry), the chat page at / (SEC-005)."""

from __future__ import annotations

import httpx

from roomwire.reference.app import STATIC
from tests.reference.helpers import Client, serving


async def test_healthz_reports_connections_rooms_and_the_broker() -> None:
    async with serving() as server, httpx.AsyncClient(base_url=server.http) as http:
        async with Client.connect(server.ws("a")) as a, Client.connect(server.ws("b")) as b:
            await a.joined()
            await b.joined()
            health = (await http.get("/healthz")).json()
        assert health == {"status": "ok", "connections": 2, "rooms": 2, "members": 2, "broker": "ok"}
        server.hub.shutting_down = True
        response = await http.get("/healthz")
        assert response.status_code == 503 and response.json()["status"] == "stopping"
        server.hub.shutting_down = False


async def test_metrics_use_the_apps_own_registry_and_count_frames() -> None:
    async with serving() as server, serving() as other, httpx.AsyncClient(base_url=server.http) as http:
        async with Client.connect(server.ws("r")) as a:
            await a.joined()
            await a.say("one")
            await a.expect(lambda f: f["type"] == "user_msg")
            await a.send("garbage")
            await a.error("bad_json")
            response = await http.get("/metrics")
        text = response.text
        assert response.headers["content-type"].startswith("text/plain")
        assert "roomwire_connections 1.0" in text and "roomwire_rooms 1.0" in text
        assert 'roomwire_frames_in_total{type="user_msg"} 1.0' in text
        assert 'roomwire_frames_in_total{type="invalid"} 1.0' in text
        assert 'roomwire_frames_out_total{type="user_msg"} 1.0' in text
        assert "roomwire_broadcast_seconds_count 1.0" in text
        assert 'type="user_msg"' not in other.hub.metrics.render().decode()  # not shared between apps


async def test_the_chat_page_is_served_when_present() -> None:
    async with serving() as server, httpx.AsyncClient(base_url=server.http) as http:
        response = await http.get("/")
    if (STATIC / "index.html").is_file():
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        assert "AIza" not in response.text  # SEC-005
    else:
        assert response.status_code == 404
