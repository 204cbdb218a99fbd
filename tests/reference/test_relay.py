"""Every way an answer can end, with a scripted upstream (the `ai_client_factory` seam): one ai_done each."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from roomwire.reference.ai import AiEnd, AiItem, AiRequest, Usage
from roomwire.reference.settings import Secret, Settings
from tests.reference.helpers import Client, serving


class Scripted:
    """An upstream that yields `items`, then raises `error` or hangs, as told."""

    def __init__(self, items: list[AiItem], *, error: BaseException | None = None, hang: bool = False) -> None:
        self.items, self.error, self.hang = items, error, hang
        self.requests: list[AiRequest] = []
        self.closed = False

    async def stream(self, request: AiRequest) -> AsyncGenerator[AiItem, None]:
        self.requests.append(request)
        for item in self.items:
            yield item
        if self.error is not None:
            # a copy: the parametrize list's own instance would keep this test's frames (its server, its sockets)
            # alive in its traceback, to be collected, with ResourceWarnings, during some later test
            raise copy.copy(self.error)
        if self.hang:
            await asyncio.Event().wait()

    async def aclose(self) -> None:
        self.closed = True


def factory(upstream: Scripted) -> Any:
    def make(settings: Settings, base_url: str | None, api_key: str) -> Scripted:
        return upstream

    return make


@pytest.mark.parametrize(
    ("upstream", "code", "status"),
    [
        (Scripted(["a", "b"]), "ai_incomplete", "error"),  # ended without its end marker
        (Scripted(["a"], error=RuntimeError("body with AIzaFAKE-leak-test")), "upstream_error", "error"),
        (Scripted(["a", AiEnd("MAX_TOKENS")]), None, "truncated"),
        (Scripted([AiEnd("MAX_TOKENS")]), "ai_empty", "truncated"),  # AI-010: no text at all
        (Scripted([AiEnd(None, block_reason="PROHIBITED_CONTENT")]), "ai_blocked", "blocked"),  # a prompt block
        (Scripted([AiEnd("STOP", usage=None)]), None, "ok"),
        (Scripted(["x", AiEnd(None, block_reason="SAFETY")]), "ai_blocked", "blocked"),
        (Scripted(["a"], hang=True), "upstream_timeout", "error"),  # UP-004: between chunks
        (Scripted([], hang=True), "upstream_timeout", "error"),  # UP-004: before the first
    ],
)
async def test_each_ending(upstream: Scripted, code: str | None, status: str, caplog: pytest.LogCaptureFixture) -> None:
    async with serving(ai_client_factory=factory(upstream), ai_timeout_s=1) as server:
        async with Client.connect(server.ws("r")) as a:
            await a.joined()
            await a.ask("q", id="q")
            done = await a.answer("q")
            assert done["status"] == status
            errors = [f["code"] for f in a.frames if f.get("event") == "error"]
            assert errors == ([code] if code else [])
            assert await a.quiet(0.2) == []  # AI-002: nothing after the ai_done
            a.check()
    assert upstream.closed and "AIzaFAKE-leak-test" not in caplog.text


async def test_usage_is_counted_when_present() -> None:
    upstream = Scripted(["hi", AiEnd("STOP", usage=Usage(prompt_tokens=1_000_000, output_tokens=1_000_000))])
    async with serving(ai_client_factory=factory(upstream), ai_model="unknown-model") as server:
        async with Client.connect(server.ws("r")) as a:
            await a.joined()
            await a.ask("q", id="q")
            await a.answer("q")
        metrics = server.hub.metrics.render().decode()
    assert 'roomwire_ai_tokens_total{direction="out"} 1e+06' in metrics
    assert "roomwire_ai_cost_usd_total 0.0" in metrics  # no price for a model the seed's table lacks


async def test_a_restart_ends_a_hanging_answer_with_its_ai_done() -> None:
    upstream = Scripted(["partial"], hang=True)
    async with serving(ai_client_factory=factory(upstream), shutdown_grace_s=0.3, ai_timeout_s=60) as server:
        async with Client.connect(server.ws("r")) as a, Client.connect(server.ws("r", "lang=en")) as b:
            await a.joined()
            await b.joined()
            await a.ask("q", id="q")
            await a.expect(lambda f: f["type"] == "ai_chunk")
            server.hub.begin_shutdown()
            assert (await a.answer("q"))["status"] == "error"  # RECON-002, AI-002
            assert (await a.event("notice"))["code"] == "server_restart"
            assert (await b.event("notice"))["content"] == "The server is restarting; reconnecting shortly."
            for client in (a, b):
                assert (await client.closed())[0] == 1012
            a.check()


async def test_an_ai_msg_during_the_grace_period_is_rejected(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    upstream = Scripted(["partial"], hang=True)
    async with serving(ai_client_factory=factory(upstream), shutdown_grace_s=3, ai_timeout_s=60) as server:
        async with Client.connect(server.ws("r")) as a, Client.connect(server.ws("r")) as b:
            await a.joined()
            await b.joined()
            await a.ask("q", id="q")
            await a.expect(lambda f: f["type"] == "ai_chunk")
            server.hub.begin_shutdown()
            await b.ask("new question", id="n")
            assert (await b.answer("n"))["status"] == "rejected"  # INPUT-008, while answers still run
            assert (await b.event("notice"))["code"] == "server_restart"


CANARY = "roomwire-canary-FAKE-test-key-0042"  # FAKE test key: configured, so it is masked wherever it shows up


@pytest.mark.parametrize(
    ("upstream", "expected", "status"),
    [
        (Scripted(["key: roomwire-ca", "nary-FAKE-test-key-0042!", AiEnd("STOP")]), "key: [REDACTED]!", "ok"),
        (Scripted(["the end roomwire-cana", AiEnd("STOP")]), "the end [REDACTED]", "ok"),  # its start, at the end
        (Scripted(["cut roomwire-can"], error=RuntimeError("cut")), "cut [REDACTED]", "error"),  # before the error
        (Scripted([CANARY, AiEnd("MAX_TOKENS")]), "[REDACTED]", "truncated"),  # text came: no ai_empty
    ],
)
async def test_the_configured_key_never_leaves_in_an_ai_chunk(upstream: Scripted, expected: str, status: str) -> None:
    """SEC-003: a key upstream writes into an answer is masked, also when it is split across chunks."""
    async with serving(ai_client_factory=factory(upstream), gemini_api_key=Secret(CANARY)) as server:
        async with Client.connect(server.ws("r")) as a:
            await a.joined()
            await a.ask("q", id="q")
            assert (await a.answer("q"))["status"] == status
            chunks = [f["content"] for f in a.frames if f["type"] == "ai_chunk"]
            assert "".join(chunks) == expected and all(chunks)
            assert not [f for f in a.frames if f.get("code") == "ai_empty"]
            assert CANARY[:12] not in json.dumps(a.frames)
            a.check()


class FailsAtOnce(Scripted):
    """An upstream whose `stream` raises when called, before any iteration (not an async generator)."""

    def stream(self, request: AiRequest) -> AsyncGenerator[AiItem, None]:
        raise ConnectionRefusedError("refused")


async def test_a_client_that_fails_when_asked_ends_the_answer_as_upstream_error_and_the_connection_stays() -> None:
    async with serving(ai_client_factory=factory(FailsAtOnce([]))) as server:
        async with Client.connect(server.ws("r")) as a:
            await a.joined()
            await a.ask("q", id="q")
            assert await a.answer("q") == {"type": "ai_done", "status": "error", "id": "q"}
            assert [f["code"] for f in a.frames if f.get("event") == "error"] == ["upstream_error"]
            await a.ask("again", id="q2")
            assert (await a.answer("q2"))["status"] == "error"  # still served: the same notice, not a close
            a.check()
