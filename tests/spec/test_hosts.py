"""SPEC.md §13's loopback host, which both the server's origin rule and the harness's SEC-004/010 read."""

from __future__ import annotations

import pytest

from roomwire.spec.hosts import is_loopback_host


@pytest.mark.parametrize("host", ["localhost", "LocalHost", "127.0.0.1", "127.8.9.10", "::1", "[::1]"])
def test_loopback(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host", ["app.localhost", "localhost.", "0.0.0.0", "10.0.0.1", "::", "[::ffff:8.8.8.8]", "example.com", ""]
)
def test_not_loopback(host: str) -> None:
    assert not is_loopback_host(host)
