"""The sync control client against a double in a thread (how Locust and sync tests use it)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from roomwire.gemini_double import FAKE_API_KEY, DoubleConfig, DoubleControl, DoubleControlError, DoubleThread
from roomwire.gemini_double.control import AsyncDoubleControl


@pytest.fixture
def threaded() -> Iterator[DoubleThread]:
    thread = DoubleThread(DoubleConfig(latency="zero"))
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()


def test_sync_control_round_trip(threaded: DoubleThread) -> None:
    with DoubleControl(threaded.base_url) as control:
        assert control.health() == {"status": "ok"}
        assert control.configure(seed=7)["seed"] == 7 and control.config()["seed"] == 7
        assert control.queue_fault("abort", match="tok-sync")["match"] == "tok-sync"
        assert [f["kind"] for f in control.faults()] == ["abort"]
        assert control.clear_faults() == 1
        body = {"contents": [{"parts": [{"text": "tok-sync"}]}]}
        httpx.post(
            threaded.base_url + "v1/models/gemini-2.5-flash:generateContent",
            json=body,
            headers={"x-goog-api-key": FAKE_API_KEY},
            trust_env=False,
        )
        entries = control.wait_for(lambda es: len(es) == 1, match="tok-sync")
        assert entries[0]["outcome"] == "ok" and control.journal(match="other") == []
        control.clear_journal()
        assert control.journal() == []
        control.reset()
        with pytest.raises(DoubleControlError):
            control.configure(latency="warp")
        with pytest.raises(TimeoutError):
            control.wait_for(lambda es: False, within_s=0.05)


def test_error_without_json_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="bad gateway")

    with DoubleControl("http://double.test/", client=httpx.Client(transport=httpx.MockTransport(handler))) as control:
        with pytest.raises(DoubleControlError, match="502: bad gateway"):
            control.health()


async def test_async_client_with_a_given_http_client() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/prefix/_double/health"
        return httpx.Response(200, json={"status": "ok"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with AsyncDoubleControl("http://double.test/prefix", client=http) as control:
        assert await control.health() == {"status": "ok"}
    assert not http.is_closed  # not ours to close
    await http.aclose()
