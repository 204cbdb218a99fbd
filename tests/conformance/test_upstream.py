"""The suite's client of the Gemini double's control API, against a real double."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from roomwire.conformance.upstream import Upstream, UpstreamCall, fingerprint
from roomwire.gemini_double import FAKE_API_KEY, DoubleConfig, serve_double
from roomwire.gemini_double import fingerprint as double_fingerprint
from roomwire.spec.errors import HarnessError


def test_fingerprint_is_the_doubles() -> None:
    assert fingerprint(FAKE_API_KEY) == double_fingerprint(FAKE_API_KEY)


async def test_faults_and_journal_round_trip() -> None:
    async with serve_double(DoubleConfig(latency="zero", quota_rpm=None)) as double:
        upstream = Upstream(double.base_url)
        try:
            await upstream.health()
            assert (await upstream.config())["latency"] == "zero"
            await upstream.configure(chunk_interval_ms=1)
            await upstream.fault("server_error", match="tok-1")
            body = {
                "contents": [
                    {"role": "user", "parts": [{"text": "earlier"}]},
                    {"role": "user", "parts": [{"text": "hi tok-1"}]},
                ],
                "systemInstruction": {"parts": [{"text": "be brief"}]},
                # No thinking: a 2.5 model's thoughts count against a limit this small (the double does it too).
                "generationConfig": {"maxOutputTokens": 30, "thinkingConfig": {"thinkingBudget": 0}},
            }
            url = f"{double.base_url.rstrip('/')}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
            async with httpx.AsyncClient(trust_env=False) as http:
                failed = await http.post(url, json=body, headers={"x-goog-api-key": FAKE_API_KEY})
                body["contents"][1]["parts"][0]["text"] = "hi tok-2"  # type: ignore[index]
                answered = await http.post(url + f"&key={FAKE_API_KEY}", json=body)
            assert failed.status_code == 500 and answered.status_code == 200
            [first] = await upstream.wait_for_calls("tok-1", 5)
            assert (first.key_location, first.key_fingerprint, first.outcome) == (
                "header",
                fingerprint(FAKE_API_KEY),
                "server_error",
            )
            assert first.system_text == "be brief" and first.max_output_tokens == 30
            assert first.turns == (("user", "earlier"), ("user", "hi tok-1")) and first.last_user_text == "hi tok-1"
            [second] = await upstream.wait_for_calls("tok-2", 5)
            assert (
                second.key_location == "query" and "key" not in second.query and second.sent_text
            )  # never journals the key
            assert len(second.chunk_times_ms) >= 1 and second.finished and not second.disconnected
            assert await upstream.journal("nothing-matches") == []
            assert len(await upstream.journal()) == 2
            with pytest.raises(HarnessError, match="refused"):
                await upstream.fault("no_such_kind", match="x")
        finally:
            await upstream.aclose()


async def test_an_absent_double_is_a_harness_error() -> None:
    upstream = Upstream("http://127.0.0.1:9", within=0.5)
    try:
        with pytest.raises(HarnessError, match="did not answer"):
            await upstream.health()
    finally:
        await upstream.aclose()


def test_journal_entries_are_read_leniently() -> None:
    call = UpstreamCall.from_json({"key": None, "contents": "x", "system_instruction": "plain", "chunk_times_ms": None})
    assert call.key_location == "none" and call.turns == () and call.system_text == "plain" and not call.finished


async def test_preflight_prepares_a_double_for_the_suite() -> None:
    from roomwire.conformance.preflight import preflight
    from roomwire.conformance.session import Session, Timeouts
    from roomwire.conformance.target import parse_target
    from tests.conformance.toy import toy_server

    async with serve_double(DoubleConfig(latency="fast")) as double, toy_server() as url:
        upstream = Upstream(double.base_url)
        session = Session(target=parse_target([url]), timeouts=Timeouts(0.5), upstream=upstream)
        try:
            facts = await preflight(session)
            assert "chunk_interval_ms set to 25.0" in str(facts["double"]) and "quota_rpm set to None" in str(
                facts["double"]
            )
            config = await upstream.config()
            assert config["chunk_interval_ms"] == 25.0 and config["quota_rpm"] is None
            assert await preflight(session) and (await preflight(session))["double"] == double.base_url.rstrip("/")
        finally:
            await session.aclose()
            await upstream.aclose()


async def test_a_connection_the_double_closed_while_idle_is_never_reused() -> None:
    """The stale keep-alive case, made deterministic: a server that answers the first request on a connection
    and closes the connection when a second request arrives on it (its keep-alive timeout firing just then).
    A pooled client would send the second call on that connection and fail with "Server disconnected without
    sending a response"; the suite's client opens a connection per call."""
    requests_per_connection: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests_per_connection.append(0)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                requests_per_connection[-1] += 1
                if requests_per_connection[-1] > 1:
                    return  # closes without a response: the idle timeout met the request
                body = b'{"config": {"latency": "fast"}}'
                head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
                writer.write(head.encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    upstream = Upstream(f"http://127.0.0.1:{port}")
    try:
        for _ in range(3):
            assert (await upstream.config())["latency"] == "fast"
    finally:
        await upstream.aclose()
        server.close()
        await server.wait_closed()
    assert requests_per_connection == [1, 1, 1]


async def test_the_stale_connection_case_fails_a_pooled_client() -> None:
    """The same server breaks a client that keeps connections alive: the case above is real, not assumed."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
        await writer.drain()
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(trust_env=False) as pooled:
            await pooled.get(f"http://127.0.0.1:{port}/_double/config")
            with pytest.raises(httpx.RemoteProtocolError, match="disconnected without sending a response"):
                await pooled.get(f"http://127.0.0.1:{port}/_double/config")
    finally:
        server.close()
        await server.wait_closed()
