"""The HTTP side: /healthz, /metrics (own registry), the chat page at / with its headers (SEC-005, SEC-009)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import Metric

from roomwire.reference.metrics import BROADCAST_BUCKETS, PlainHistogram
from roomwire.reference.page import PAGE
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


async def test_the_chat_page_is_served_with_its_policy_in_headers() -> None:
    """SEC-009: frame-ancestors (own origin by default), nosniff and no referrer, as HTTP headers."""
    async with serving() as server, httpx.AsyncClient(base_url=server.http) as http:
        response = await http.get("/")
        health = await http.get("/healthz")
    assert PAGE.is_file() and response.status_code == 200
    assert response.headers["content-type"].startswith("text/html") and "AIza" not in response.text  # SEC-005
    policy = response.headers["content-security-policy"]
    assert policy.endswith("; frame-ancestors 'self'") and "script-src 'sha256-" in policy
    assert policy.removesuffix("; frame-ancestors 'self'") in response.text  # the page's <meta> policy, same hashes
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    for reply in (response, health):
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["referrer-policy"] == "no-referrer"
    assert health.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


async def test_the_game_that_embeds_the_page_is_named_in_frame_ancestors() -> None:
    async with serving(page_frame_ancestors=("https://game.example", "https://*.arcade.example:8443")) as server:
        async with httpx.AsyncClient(base_url=server.http) as http:
            response = await http.get("/")
    policy = response.headers["content-security-policy"]
    assert policy.endswith("; frame-ancestors 'self' https://game.example https://*.arcade.example:8443")
    assert "x-frame-options" not in response.headers  # it cannot name other origins: left to frame-ancestors
    async with serving(page_frame_ancestors=("'none'",)) as server, httpx.AsyncClient(base_url=server.http) as http:
        response = await http.get("/")
    assert response.headers["content-security-policy"].endswith("; frame-ancestors 'none'")
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("values", [[], [0.0], [0.0001, 0.00025, 0.3, 1.0, 2.0], [1e-9, 0.004, 0.004, 0.75, 99.0]])
def test_the_plain_broadcast_histogram_renders_as_prometheus_client_s(values: list[float]) -> None:
    """The hot path's histogram (plain numbers) shows exactly what `prometheus_client.Histogram` would show."""
    theirs = CollectorRegistry()
    histogram = Histogram("h_seconds", "doc", registry=theirs, buckets=BROADCAST_BUCKETS)
    ours = PlainHistogram("h_seconds", "doc", BROADCAST_BUCKETS)
    for value in values:
        histogram.observe(value)
        ours.observe(value)

    class Ours:
        def collect(self) -> Iterator[Metric]:
            yield ours.family()

    mine = CollectorRegistry()
    mine.register(Ours())

    def lines(registry: CollectorRegistry) -> list[str]:
        return [line for line in generate_latest(registry).decode().splitlines() if "_created" not in line]

    assert lines(mine) == lines(theirs)
    assert "h_seconds_created" in generate_latest(mine).decode()
