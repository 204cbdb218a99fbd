"""SEC-004's default list of origins a target must accept: loopback ones only for a loopback target (SEC-010)."""

from __future__ import annotations

import pytest

from roomwire.conformance.checks.secrets import default_allowed_origins
from roomwire.conformance.target import parse_endpoint


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_a_loopback_target_must_also_accept_loopback_origins_on_other_ports(host: str) -> None:
    origins = [origin for _, origin in default_allowed_origins(parse_endpoint(f"ws://{host}:8000/ws/{{room_id}}"))]
    assert origins[0] == f"http://{host}:8000"
    assert {"http://localhost:5173", "http://127.0.0.1:8080", "https://[::1]:3000"} <= set(origins)


@pytest.mark.parametrize("url", ["wss://staging.example/ws/{room_id}", "ws://10.0.0.5:8000/ws/{room_id}"])
def test_a_target_elsewhere_must_accept_only_its_own_origin(url: str) -> None:
    endpoint = parse_endpoint(url)
    assert default_allowed_origins(endpoint) == [("the server's own host", endpoint.own_origin)]
