"""The control API under /_double/, raw (status codes, error envelope) and through AsyncDoubleControl."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from roomwire.gemini_double import AsyncDoubleControl, DoubleControlError, RunningDouble


@pytest.fixture
async def raw(double: RunningDouble) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=double.base_url + "_double/", trust_env=False) as client:
        yield client


async def test_health_config_and_reset(control: AsyncDoubleControl) -> None:
    assert await control.health() == {"status": "ok"}
    assert (await control.config())["latency"] == "zero"
    changed = await control.configure(latency="seed", quota_rpm=None, chunk_interval_ms=7)
    assert changed["latency"] == "seed" and changed["quota_rpm"] is None and changed["chunk_interval_ms"] == 7
    await control.queue_fault("abort", count=2, match="tok")
    await control.reset()
    assert await control.faults() == [] and await control.journal() == []
    assert (await control.config())["latency"] == "seed"  # reset keeps the config


async def test_faults_queue_list_and_clear(control: AsyncDoubleControl) -> None:
    queued = await control.queue_fault("rate_limit", count=3, model="gemini-2.5-flash", match="tok", retry_delay_s=9)
    assert queued["kind"] == "rate_limit" and queued["remaining"] == 3 and queued["id"] >= 1
    replay = await control.queue_fault("replay", fixture="model_stream")
    assert replay["body"].startswith("<") and replay["body"].endswith(" characters>")
    assert [f["kind"] for f in await control.faults()] == ["rate_limit", "replay"]
    assert await control.clear_faults() == 2 and await control.faults() == []


async def test_journal_clear(control: AsyncDoubleControl, double: RunningDouble) -> None:
    async with httpx.AsyncClient(base_url=double.base_url, trust_env=False) as client:
        await client.get("/v1/models")
    assert len(await control.journal()) == 1 and await control.journal(match="x") == []
    await control.clear_journal()
    assert await control.journal() == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "faults", {"kind": "meteor"}, 400),
        ("POST", "faults", [1], 400),
        ("POST", "faults", {"kind": "replay", "fixture": "no-such-recording"}, 400),
        ("POST", "config", {"latency": "warp"}, 400),
        ("PUT", "config", {"nope": 1}, 400),
        ("DELETE", "config", None, 405),
        ("GET", "reset", None, 405),
        ("POST", "release", {}, 400),
        ("POST", "release", {"match": ""}, 400),
        ("POST", "release", [1], 400),
        ("GET", "release", None, 405),
        ("GET", "teapot", None, 404),
        ("GET", "", None, 404),
    ],
)
async def test_bad_control_requests(raw: httpx.AsyncClient, method: str, path: str, body: object, status: int) -> None:
    response = await raw.request(method, path, json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == status and error["message"]


async def test_bad_json_and_too_large_bodies(raw: httpx.AsyncClient) -> None:
    assert (await raw.post("faults", content=b"{nope")).status_code == 400
    assert (await raw.patch("config", content=b"\xff")).status_code == 400
    assert (await raw.post("release", content=b"{nope")).status_code == 400
    assert (await raw.post("config", content=b"x" * (8 * 1024 * 1024 + 1))).status_code == 400


async def test_client_raises_with_the_apis_message(control: AsyncDoubleControl) -> None:
    with pytest.raises(DoubleControlError, match="kind must be one of") as caught:
        await control.queue_fault("meteor")
    assert caught.value.status == 400


async def test_wait_for_times_out_with_the_last_entries(control: AsyncDoubleControl) -> None:
    with pytest.raises(TimeoutError, match="journal condition not met"):
        await control.wait_for(lambda entries: bool(entries), within_s=0.05)
