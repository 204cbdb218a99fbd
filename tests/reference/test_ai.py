"""AI answers over real sockets, through the real google-genai SDK, against the Gemini double (AI, UP, LIMIT-005)."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.genai import types

from roomwire.gemini_double import FAKE_API_KEY, AsyncDoubleControl
from roomwire.reference.ai import TRANSPORTS, AiEnd, AiRequest, GenaiClient, aiohttp_session, chunk_text
from roomwire.spec.messages import HistoryItem
from tests.reference.helpers import Client, double_server, serving


def chunks_of(client: Client, id: str) -> list[str]:
    return [f["content"] for f in client.frames if f["type"] == "ai_chunk" and f.get("id") == id]


async def test_answer_streams_to_the_asker_only_and_equals_upstream_text() -> None:
    async with double_server(latency="fast") as double, serving(double) as server:
        async with Client.connect(server.ws("r")) as asker, Client.connect(server.ws("r")) as other:
            await asker.joined()
            await other.joined()
            await asker.event("join")
            await asker.ask("핀볼 잘하는 법 알려줘", id="q-1")
            done = await asker.answer("q-1")
            assert done == {"type": "ai_done", "status": "ok", "id": "q-1"}  # AI-001, AI-012
            async with AsyncDoubleControl(double.base_url) as control:
                (entry,) = await control.journal(match="핀볼 잘하는 법")
            chunks = chunks_of(asker, "q-1")
            assert len(chunks) > 1 and "".join(chunks) == entry["sent_text"]  # AI-003, AI-004
            assert asker.protocol.exchange("q-1").text == entry["sent_text"]
            assert await other.quiet() == []  # only the asker
            asker.check()


async def test_the_request_upstream_is_built_from_configuration_and_capped_history() -> None:
    async with double_server() as double, serving(double, max_history_items=3, ai_max_tokens=77) as server:
        async with Client.connect(server.ws("r")) as a, AsyncDoubleControl(double.base_url) as control:
            await a.joined()
            history = tuple(HistoryItem(role="user" if i % 2 else "model", content=f"turn {i}") for i in range(6))
            await a.ask("한국어로 답해줘 marker-9", id="q", history=history)
            await a.answer("q")
            (entry,) = await control.journal(match="marker-9")
    assert entry["system_instruction"] == {"parts": [{"text": server.hub.settings.ai_system_prompt}], "role": "user"}
    contents = [(c["role"], c["parts"][0]["text"]) for c in entry["contents"]]  # AI-009: last 3, in order
    assert contents == [
        ("user", "turn 3"),
        ("model", "turn 4"),
        ("user", "turn 5"),
        ("user", "한국어로 답해줘 marker-9"),
    ]
    assert entry["generation_config"]["maxOutputTokens"] == 77  # AI-010
    assert entry["key"]["location"] == "header"  # SEC-002


async def test_a_capped_answer_is_truncated() -> None:
    async with double_server() as double, serving(double, ai_max_tokens=3) as server:
        async with Client.connect(server.ws("r")) as a:
            await a.joined()
            await a.ask("long answer please", id="q")
            assert (await a.answer("q"))["status"] == "truncated"  # AI-010


async def test_the_asker_can_chat_while_the_answer_streams() -> None:
    async with double_server(latency="fast", chunk_interval_ms=150) as double, serving(double) as server:
        async with Client.connect(server.ws("r")) as a:
            await a.joined()
            await a.ask("slow answer", id="q")
            await a.expect(lambda f: f["type"] == "ai_chunk")
            await a.say("meanwhile")  # AI-005
            await a.expect(lambda f: f["type"] == "user_msg")
            assert not any(f["type"] == "ai_done" for f in a.frames)
            assert (await a.answer("q"))["status"] == "ok"


async def test_one_answer_in_flight_per_connection() -> None:
    async with double_server(latency="fast", chunk_interval_ms=100) as double, serving(double) as server:
        async with Client.connect(server.ws("r")) as a:
            await a.joined()
            await a.ask("first", id="q1")
            await a.ask("second", id="q2")
            busy = await a.error("ai_busy")
            assert busy["id"] == "q2"
            assert await a.answer("q2") == {"type": "ai_done", "status": "rejected", "id": "q2"}  # AI-006
            assert (await a.answer("q1"))["status"] == "ok"
            await a.ask("third", id="q3")  # free again right after its ai_done
            assert (await a.answer("q3"))["status"] == "ok"
            a.check()


async def test_a_refused_ai_msg_binds_its_nickname_and_a_ping_does_not() -> None:
    """SPEC.md §4 (which frames bind): a valid ai_msg refused as busy was read and understood, so it binds; a
    ping's `nickname` is an unknown field, ignored; an invalid frame binds nothing either."""
    async with double_server(latency="fast", chunk_interval_ms=100) as double, serving(double) as server:
        async with Client.connect(server.ws("r")) as a:
            await a.joined()
            await a.send({"type": "ping", "id": "p", "nickname": "Pat"})
            await a.expect(lambda f: f["type"] == "pong")
            await a.send({"type": "user_msg", "content": 5, "nickname": "Inv"})
            await a.error("bad_frame")
            await a.ask("first", id="q1")
            await a.ask("second", id="q2", nickname="Busy")
            await a.error("ai_busy")
            await a.say("who am I")
            said = await a.expect(lambda f: f["type"] == "user_msg")
            assert said["nickname"] == "Busy"
            await a.answer("q1")


async def test_the_server_wide_budget_answers_ai_quota_before_upstream_does() -> None:
    async with double_server() as double, serving(double, ai_budget_rpm=2) as server:
        async with Client.connect(server.ws("r")) as a, Client.connect(server.ws("r")) as b:
            await a.joined()
            await b.joined()
            await a.ask("budget-1", id="1")
            await a.answer("1")
            await b.ask("budget-2", id="2")
            await b.answer("2")
            await a.ask("budget-3", id="3")
            quota = await a.error("ai_quota")
            assert quota["id"] == "3" and 1 <= quota["retry_after"] <= 60  # LIMIT-005, ERR-001
            assert (await a.answer("3"))["status"] == "rejected"
            async with AsyncDoubleControl(double.base_url) as control:
                assert len(await control.journal(match="budget-")) == 2  # never sent upstream


async def test_the_default_budget_follows_the_model() -> None:
    async with serving(ai_model="gemini-2.5-flash-lite") as server, Client.connect(server.ws("r")) as a:
        assert (await a.welcome())["limits"]["ai_budget_rpm"] == 15


FAULTS: list[tuple[str, dict[str, Any], str, str]] = [
    ("server_error", {}, "upstream_error", "error"),
    ("unavailable", {}, "upstream_error", "error"),
    ("invalid_key", {}, "upstream_error", "error"),
    ("abort", {"after_chunks": 2}, "upstream_error", "error"),  # UP-003
    ("stream_error", {"after_chunks": 1}, "upstream_error", "error"),
    ("stall", {}, "upstream_timeout", "error"),  # UP-004
    ("no_finish", {}, "ai_incomplete", "error"),  # UP-006
    ("safety", {}, "ai_blocked", "blocked"),  # UP-005
    # Issue 12: what Google sends today.
    ("server_error_encountered", {}, "upstream_error", "error"),
    ("unavailable_high_demand", {}, "upstream_error", "error"),
    ("invalid_key_debug", {}, "upstream_error", "error"),
    ("stream_error_raw", {"after_chunks": 1}, "upstream_error", "error"),  # UP-003: the raw tail
    ("prompt_blocked", {}, "ai_blocked", "blocked"),  # UP-005: promptFeedback.blockReason, no candidates
    ("prompt_blocked", {"block_reason": "OTHER"}, "ai_blocked", "blocked"),
    ("thinking_exhausted", {}, "ai_empty", "truncated"),  # AI-010: MAX_TOKENS before any text
]


@pytest.mark.parametrize(("kind", "params", "code", "status"), FAULTS)
async def test_upstream_failures_end_with_their_notice_then_ai_done(
    kind: str, params: dict[str, Any], code: str, status: str
) -> None:
    async with double_server() as double, serving(double, ai_timeout_s=1) as server:
        async with Client.connect(server.ws("r")) as a, Client.connect(server.ws("r")) as b:
            await a.joined()
            await b.joined()
            async with AsyncDoubleControl(double.base_url) as control:
                await control.queue_fault(kind, match=f"fault-{kind}", **params)
            await a.ask(f"fault-{kind}", id="q")
            error = await a.error(code)
            done = await a.answer("q")
            assert error["id"] == "q" and done["status"] == status  # UP-002..006, AI-002
            assert a.frames.index(error) < a.frames.index(done)
            if kind in ("abort", "stream_error_raw"):
                assert len(chunks_of(a, "q")) == params["after_chunks"]  # what came before the cut was forwarded
            if kind in ("prompt_blocked", "thinking_exhausted"):
                assert chunks_of(a, "q") == []  # nothing to show, and no empty chunk either (AI-004)
            await b.say("room still works")  # UP-007
            await a.expect(lambda f: f["type"] == "user_msg")
            await a.ask("again", id="q2")
            assert (await a.answer("q2"))["status"] == "ok"
            a.check()


@pytest.mark.parametrize(("delay", "expected"), [(58, 58), (0, 1)])
async def test_upstream_429_gives_retry_after_from_retry_info(delay: float, expected: int) -> None:
    async with double_server() as double, serving(double) as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        async with AsyncDoubleControl(double.base_url) as control:
            await control.queue_fault("rate_limit", match="quota", retry_delay_s=delay)
        await a.ask("over quota", id="q")
        error = await a.error("upstream_rate_limited")
        assert error["retry_after"] == expected and error["id"] == "q"  # UP-001
        assert (await a.answer("q"))["status"] == "error"
        metrics = server.hub.metrics.render().decode()
        assert "roomwire_upstream_rate_limited_total 1.0" in metrics


def _quota_body(details: list[dict[str, Any]]) -> str:
    return json.dumps({"error": {"code": 429, "message": "Resource has been exhausted.", "status": "RESOURCE_EXHAUSTED",
                                 "details": details}}, indent=2)  # fmt: skip


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        ([{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}], 2),
        ([{"@type": "type.googleapis.com/google.rpc.Help", "links": []}], 60),
        ([], 60),
    ],
)
async def test_upstream_429_fractional_or_missing_retry_delay(details: list[dict[str, Any]], expected: int) -> None:
    async with double_server() as double, serving(double) as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        async with AsyncDoubleControl(double.base_url) as control:
            await control.queue_fault("replay", match="quota", status=429, body=_quota_body(details))
        await a.ask("over quota", id="q")
        assert (await a.error("upstream_rate_limited"))["retry_after"] == expected  # UP-001: ceil, 60 when absent
        await a.answer("q")


@pytest.mark.parametrize(
    ("kind", "params", "expected"),
    [
        ("rate_limit_help_only", {}, 60),  # no RetryInfo: 60 (UP-001)
        ("rate_limit_per_day", {"retry_delay_s": 38.2}, 38),  # the daily cap still says when to ask again
        ("rate_limit_several", {"retry_delay_s": 7.9}, 7),  # several violations, one RetryInfo
    ],
)
async def test_upstream_429_variants(kind: str, params: dict[str, Any], expected: int) -> None:
    async with double_server() as double, serving(double) as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        async with AsyncDoubleControl(double.base_url) as control:
            await control.queue_fault(kind, match="quota", **params)
        await a.ask("over quota", id="q")
        error = await a.error("upstream_rate_limited")
        assert error["retry_after"] == expected and error["id"] == "q"
        assert (await a.answer("q"))["status"] == "error"


async def test_a_thinking_answer_without_text_is_truncated_after_ai_empty() -> None:
    """AI-010: with a small limit the thinking model's thoughts use it all; a long answer with room keeps its text."""
    async with (
        double_server() as double,
        serving(double, ai_max_tokens=6) as server,
        Client.connect(server.ws("r")) as a,
    ):
        await a.joined()
        await a.ask("what is a flipper? [[thoughts=20]]", id="q")
        error = await a.error("ai_empty")
        done = await a.answer("q")
        assert done["status"] == "truncated" and error["id"] == "q" and chunks_of(a, "q") == []
        assert error["content"] == "AI가 답을 쓰기 전에 답변 길이 한도에 도달했습니다."  # ERR-002: the default language
        await a.ask("what is a flipper? [[thoughts=0]] [[sentences=9]]", id="q2")
        assert (await a.answer("q2"))["status"] == "truncated" and chunks_of(a, "q2")
        assert [f["code"] for f in a.frames if f.get("event") == "error"] == ["ai_empty"]  # none for q2
        metrics = server.hub.metrics.render().decode()
        assert 'roomwire_ai_requests_total{outcome="empty"} 1.0' in metrics


async def test_the_request_upstream_has_only_fields_google_knows() -> None:
    """The double refuses unknown fields anywhere, as Google does; every request the reference sends passes it."""
    async with double_server() as double, serving(double) as server, Client.connect(server.ws("r")) as a:
        async with AsyncDoubleControl(double.base_url) as control:
            assert (await control.config())["strict_fields"] is True
            await a.joined()
            await a.ask("strict-1", id="q", history=(HistoryItem(role="model", content="before"),))
            assert (await a.answer("q"))["status"] == "ok"
            (entry,) = await control.journal(match="strict-1")
            assert (entry["status"], entry["outcome"]) == (200, "ok")
            body = {
                "contents": entry["contents"],
                "systemInstruction": entry["system_instruction"],
                "generationConfig": {**entry["generation_config"], "maxOutputToken": 5},  # one misspelt option
            }
            url = f"{double.base_url}v1beta/models/gemini-2.5-flash:generateContent"
            headers = {"x-goog-api-key": "AIzaFAKE-roomwire-gemini-double-test-00"}
            async with httpx.AsyncClient(trust_env=False) as http:
                refused = await http.post(url, json=body, headers=headers)
                del body["generationConfig"]["maxOutputToken"]
                accepted = await http.post(url, json=body, headers=headers)
    message = refused.json()["error"]["message"]
    assert refused.status_code == 400 and message.startswith(
        'Invalid JSON payload received. Unknown name "maxOutputToken"'
    )
    assert accepted.status_code == 200  # the very fields the reference sent


async def test_leaving_mid_answer_cancels_the_upstream_request() -> None:
    async with double_server(latency="fast", chunk_interval_ms=200) as double, serving(double) as server:
        async with AsyncDoubleControl(double.base_url) as control:
            async with Client.connect(server.ws("r")) as a:
                await a.joined()
                await a.ask("cancel-me", id="q")
                await a.expect(lambda f: f["type"] == "ai_chunk")
            entries = await control.wait_for(lambda e: bool(e) and e[0]["finished_ms"] is not None, match="cancel-me")
            assert entries[0]["disconnected"] is True  # AI-011
    metrics = server.hub.metrics.render().decode()
    assert 'roomwire_ai_requests_total{outcome="cancelled"} 1.0' in metrics


async def test_metrics_count_outcomes_tokens_and_cost() -> None:
    async with double_server() as double, serving(double) as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        await a.ask("count me", id="q")
        await a.answer("q")
        metrics = server.hub.metrics.render().decode()
    assert 'roomwire_ai_requests_total{outcome="ok"} 1.0' in metrics
    tokens = {
        line.split()[0]: float(line.split()[1]) for line in metrics.splitlines() if line.startswith("roomwire_ai")
    }
    assert (
        tokens['roomwire_ai_tokens_total{direction="in"}'] > 0
        and tokens['roomwire_ai_tokens_total{direction="out"}'] > 0
    )
    expected = (
        tokens['roomwire_ai_tokens_total{direction="in"}'] * 0.30
        + tokens['roomwire_ai_tokens_total{direction="out"}'] * 2.50
    ) / 1e6
    assert tokens["roomwire_ai_cost_usd_total"] == pytest.approx(expected)
    assert "roomwire_ai_time_to_first_chunk_seconds_count 1.0" in metrics


async def test_many_askers_at_once_each_get_their_own_answer() -> None:
    async with double_server(latency="fast") as double, serving(double, ai_budget_rpm=100) as server:
        clients = [Client.connect(server.ws("r")) for _ in range(8)]
        entered = [await c.__aenter__() for c in clients]
        try:
            for client in entered:
                await client.welcome()
            await asyncio.gather(*(c.ask(f"asker {i}", id=f"q{i}") for i, c in enumerate(entered)))
            for i, client in enumerate(entered):
                assert (await client.answer(f"q{i}"))["status"] == "ok"
                assert chunks_of(client, f"q{i}")
                client.check()
        finally:
            for c in clients:
                await c.__aexit__(None, None, None)


# --- the SDK's transport (reference/ai.py `http_options`, `aiohttp_session`) ----------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_every_transport_streams_the_same_answer(transport: str) -> None:
    async with double_server() as double:
        client = GenaiClient(
            api_key=FAKE_API_KEY, model="gemini-2.5-flash", system_prompt="s", max_tokens=200,
            base_url=double.base_url, transport=transport,
        )  # fmt: skip
        try:
            items = [item async for item in client.stream(AiRequest(question="[[chunks=3]] 안녕"))]
        finally:
            await client.aclose()
    *texts, end = items
    assert len(texts) == 3 and all(isinstance(t, str) for t in texts)
    assert isinstance(end, AiEnd) and end.finish_reason == "STOP"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"candidates": []},
        {"candidates": [{"finishReason": "STOP"}]},
        {"candidates": [{"content": {"role": "model", "parts": []}}]},
        {"candidates": [{"content": {"parts": [{"text": "핀볼은 "}, {"text": "재밌어요"}]}}]},
        {"candidates": [{"content": {"parts": [{"text": "생각 중", "thought": True}, {"text": "답"}]}}]},
        {"candidates": [{"content": {"parts": [{"text": ""}, {"functionCall": {"name": "f", "args": {}}}]}}]},
        {
            "candidates": [
                {"content": {"parts": [{"text": "a", "thought": False}]}},
                {"content": {"parts": [{"text": "b"}]}},
            ]
        },
    ],
)
def test_a_chunks_text_is_what_the_sdk_calls_its_text(body: dict[str, Any]) -> None:
    """`chunk_text` skips the per-part `model_dump` but must join exactly the parts `.text` joins (no thoughts)."""
    chunk = types.GenerateContentResponse.model_validate(body)
    assert chunk_text(chunk) == (chunk.text or "")


async def test_an_unknown_transport_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="unknown transport 'curl'"):
        GenaiClient(api_key=FAKE_API_KEY, model="m", system_prompt="s", max_tokens=1, transport="curl")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_refused_connection_fails_at_once_without_a_retry(transport: str) -> None:
    """aiohttp's path in the SDK would sleep 1-10 s and try again; one attempt means the relay learns now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    client = GenaiClient(
        api_key=FAKE_API_KEY, model="m", system_prompt="s", max_tokens=1, base_url=f"http://127.0.0.1:{port}/",
        transport=transport,
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        with pytest.raises(Exception) as raised:
            await asyncio.wait_for(anext(client.stream(AiRequest(question="q"))), 30)
    finally:
        await client.aclose()
    assert loop.time() - started < 1.0, raised.value  # no hidden retry


async def test_the_aiohttp_session_trusts_the_environment_only_when_it_names_a_proxy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    plain, proxied = aiohttp_session({}), aiohttp_session({"HTTPS_PROXY": "http://proxy.internal:3128"})
    try:
        assert plain is not None and not plain.trust_env  # no proxy or netrc lookup in a thread per request
        assert proxied is not None and proxied.trust_env
        (tmp_path / ".netrc").write_text("machine example.com login u password p\n")
        with_netrc = aiohttp_session({})
        assert with_netrc is not None and with_netrc.trust_env
        await with_netrc.close()
    finally:
        await plain.close()
        await proxied.close()
