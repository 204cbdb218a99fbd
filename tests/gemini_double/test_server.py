"""serve_double and DoubleThread: free ports, immediate readiness, clean and prompt stops."""

from __future__ import annotations

import socket

import httpx
import pytest

from roomwire.gemini_double import DoubleConfig, DoubleThread, serve_double
from roomwire.gemini_double.server import hypercorn_config


async def test_serve_double_is_connectable_at_once() -> None:
    async with serve_double(DoubleConfig(latency="zero", seed=3)) as double:
        assert double.base_url == f"http://127.0.0.1:{double.port}/" and double.port > 0
        assert double.config.seed == 3
        async with httpx.AsyncClient(trust_env=False) as client:
            assert (await client.get(double.base_url + "_double/health")).json() == {"status": "ok"}
    with socket.socket() as probe, pytest.raises(OSError):
        probe.connect(("127.0.0.1", double.port))


def test_double_thread_start_stop_and_misuse() -> None:
    thread = DoubleThread()
    with pytest.raises(RuntimeError, match="not running"):
        _ = thread.base_url
    with thread as double:
        assert httpx.get(double.base_url + "_double/health", trust_env=False).status_code == 200
        assert thread.double is double
        with pytest.raises(RuntimeError, match="only be started once"):
            thread.start()
    thread.stop()  # idempotent


def test_double_thread_reports_a_failed_start() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        thread = DoubleThread(port=taken.getsockname()[1])
        with pytest.raises(RuntimeError, match="did not start") as caught:
            thread.start()
    assert isinstance(caught.value.__cause__, OSError)


def test_hypercorn_settings() -> None:
    config = hypercorn_config(99)
    assert config.bind == ["fd://99"] and config.accesslog is None and config.graceful_timeout == 1.0


def test_idle_connections_outlive_the_clients_pools() -> None:
    """Idle keep-alive connections stay open well past the pool expiry of httpx (5 s, the SDK's transport) and
    aiohttp (15 s): with equal timers a pooled connection could be closed just as a request is written on it."""
    assert hypercorn_config(99).keep_alive_timeout >= 30
