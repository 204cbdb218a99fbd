"""Upstream-side defects: AI clients (the reference's `ai_client_factory` seam) that break one rule each.

`ForwardsUpstreamText` wraps the reference's own client and lets upstream error text through to the asker
(as the seed's handler would if it showed `str(exc)`); `SseClient` is a small Gemini client of its own over
httpx, as teams write one, with the key in the URL (`?key=`, which proxies and access logs record) or an SSE
parser that reads only `data:` lines. The others wrap the reference's client and mishandle one part of what
upstream sends: a prompt block, the details of an error body.
"""

from __future__ import annotations

import contextvars
import dataclasses
import json
import logging
import tempfile
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import httpx

from roomwire.reference.ai import AiClient, AiEnd, AiItem, AiRequest, AiStream, GenaiClient
from roomwire.reference.settings import Settings
from roomwire.reference.upstream_errors import UpstreamHttpError


def _genai(
    settings: Settings, base_url: str | None, api_key: str, kind: type[GenaiClient] = GenaiClient
) -> GenaiClient:
    """The reference's own client (or a subclass with one defect) for `settings`."""
    return kind(
        api_key=api_key, model=settings.ai_model, system_prompt=settings.ai_system_prompt,
        max_tokens=settings.ai_max_tokens, temperature=settings.ai_temperature, base_url=base_url,
    )  # fmt: skip


class Wrapped:
    """The reference's client, with one thing done differently when upstream answers with an HTTP error
    (`on_error`: what it returns, if anything, goes on to the asker as answer text; the error is raised after)."""

    def __init__(self, inner: AiClient) -> None:
        self.inner = inner

    def on_error(self, exc: UpstreamHttpError) -> str | None:
        return None

    async def stream(self, request: AiRequest) -> AsyncGenerator[AiItem, None]:
        try:
            async for item in self.inner.stream(request):
                yield item
        except UpstreamHttpError as exc:
            text = self.on_error(exc)
            if text is not None:
                yield text
            raise

    async def aclose(self) -> None:
        await self.inner.aclose()


def _error_of(exc: UpstreamHttpError) -> dict[str, Any]:
    error = exc.details.get("error") if isinstance(exc.details, dict) else None
    return error if isinstance(error, dict) else {}


class ForwardsUpstreamText(Wrapped):
    """UP-008 (and SEC-003 with `key_echo`): an upstream error's own message is sent to the asker as a chunk."""

    def on_error(self, exc: UpstreamHttpError) -> str | None:
        return f"[upstream said: {_error_of(exc).get('message', exc.details)}]"


def forwards_upstream_text(settings: Settings, base_url: str | None, api_key: str) -> AiClient:
    return ForwardsUpstreamText(_genai(settings, base_url, api_key))


class SseClient:
    """streamGenerateContent over httpx, parsing the SSE stream itself, otherwise the request SPEC.md §7 asks.

    `key_in_query`: the key as `?key=` (SEC-002's defect), else in x-goog-api-key. Its parser reads only `data:`
    lines, as hand-written SSE parsers do: an error Google sends as a raw JSON tail instead of an SSE event is
    skipped, and the stream reads as a clean end without finishReason (UP-003's defect)."""

    def __init__(self, settings: Settings, base_url: str, api_key: str, *, key_in_query: bool) -> None:
        self.settings = settings
        self.url = f"{base_url.rstrip('/')}/v1beta/models/{settings.ai_model}:streamGenerateContent"
        self.params = {"alt": "sse", "key": api_key} if key_in_query else {"alt": "sse"}
        headers = {} if key_in_query else {"x-goog-api-key": api_key}
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(60.0), trust_env=False, headers=headers)

    def body(self, request: AiRequest) -> dict[str, Any]:
        turns = [{"role": h.role, "parts": [{"text": h.content}]} for h in request.history]
        turns.append({"role": "user", "parts": [{"text": request.question}]})
        return {
            "contents": turns,
            "systemInstruction": {"parts": [{"text": self.settings.ai_system_prompt}]},
            "generationConfig": {
                "maxOutputTokens": self.settings.ai_max_tokens,
                "temperature": self.settings.ai_temperature,
            },
        }

    async def stream(self, request: AiRequest) -> AsyncGenerator[AiItem, None]:
        async with self.http.stream("POST", self.url, params=self.params, json=self.body(request)) as response:
            if response.status_code >= 400:
                details = json.loads(await response.aread() or b"{}")
                error = details.get("error", {})
                raise UpstreamHttpError(response.status_code, error.get("status"), details)
            end = AiEnd(finish_reason=None)
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                chunk = json.loads(line[5:])
                if "error" in chunk:
                    raise UpstreamHttpError(chunk["error"].get("code"), chunk["error"].get("status"), chunk)
                candidate = (chunk.get("candidates") or [{}])[0]
                text = "".join(p.get("text", "") for p in candidate.get("content", {}).get("parts", []))
                if text:
                    yield text
                block = (chunk.get("promptFeedback") or {}).get("blockReason")
                end = AiEnd(
                    finish_reason=candidate.get("finishReason") or end.finish_reason,
                    block_reason=block or end.block_reason,
                )
            yield end

    async def aclose(self) -> None:
        await self.http.aclose()


def key_in_query(settings: Settings, base_url: str | None, api_key: str) -> AiClient:
    return SseClient(settings, base_url or "https://generativelanguage.googleapis.com", api_key, key_in_query=True)


def reads_only_data_lines(settings: Settings, base_url: str | None, api_key: str) -> AiClient:
    """UP-003: a raw JSON error tail after a chunk is skipped, so the asker gets ai_incomplete, not upstream_error."""
    return SseClient(settings, base_url or "https://generativelanguage.googleapis.com", api_key, key_in_query=False)


#: SEC-001's defect: a key of its own in the code, not the configured one (fake, test).
BUILT_IN_KEY = "AIza" + "FAKE-built-in-key-for-test".ljust(35, "0")


def uses_a_built_in_key(settings: Settings, base_url: str | None, api_key: str) -> AiClient:
    """SEC-001: upstream gets a key written into the code, whatever the configuration says."""
    return _genai(settings, base_url, BUILT_IN_KEY)


class QuestionInSystemInstruction(GenaiClient):
    """AI-008: each question is appended to the system instruction it is sent with."""

    async def stream(self, request: AiRequest) -> AsyncGenerator[AiItem, None]:
        base = self._config
        self._config = base.model_copy(update={"system_instruction": f"{base.system_instruction}\n{request.question}"})
        try:
            async for item in super().stream(request):
                yield item
        finally:
            self._config = base


def question_in_system_instruction(settings: Settings, base_url: str | None, api_key: str) -> AiClient:
    return _genai(settings, base_url, api_key, QuestionInSystemInstruction)


class KeyInPage:
    """SEC-005: the chat page at / is served with the key in a script (`window.GEMINI_KEY`); the AI client is the
    reference's. The page is a copy in a temporary folder, and the reference's page folder comes back on close."""

    def __init__(self, inner: AiClient, api_key: str) -> None:
        from roomwire.reference import page

        self.inner = inner
        self._page, self._original = page, page.PAGE
        self._folder = tempfile.TemporaryDirectory(prefix="roomwire-key-in-page-")
        html = self._original.read_text(encoding="utf-8")
        leak = f"<script>window.GEMINI_KEY = {json.dumps(api_key)};</script>"
        (Path(self._folder.name) / "index.html").write_text(html.replace("</head>", leak + "</head>", 1))
        page.PAGE = Path(self._folder.name) / "index.html"

    def stream(self, request: AiRequest) -> AiStream:
        return self.inner.stream(request)

    async def aclose(self) -> None:
        self._page.PAGE = self._original
        self._folder.cleanup()
        await self.inner.aclose()


def key_in_page(settings: Settings, base_url: str | None, api_key: str) -> AiClient:
    return KeyInPage(_genai(settings, base_url, api_key), api_key)


class ReadsOnlyFinishReason(Wrapped):
    """UP-005: the end of an answer is read from finishReason alone; a prompt blocked by promptFeedback.blockReason
    (no candidates, so no finishReason) reads as a stream that stopped unfinished (ai_incomplete)."""

    async def stream(self, request: AiRequest) -> AsyncGenerator[AiItem, None]:
        async for item in self.inner.stream(request):
            yield dataclasses.replace(item, block_reason=None) if isinstance(item, AiEnd) else item


def reads_only_finish_reason(settings: Settings, base_url: str | None, api_key: str) -> AiClient:
    return ReadsOnlyFinishReason(_genai(settings, base_url, api_key))


#: The details of the upstream error the asker's answer task last met (`ErrorDetailsInNotice` reads them: the
#: notice is sent from the same task, so it sees what this client set while it was iterated there).
ERROR_DETAILS: contextvars.ContextVar[str] = contextvars.ContextVar("upstream error details", default="")


class KeepsErrorDetails(Wrapped):
    """SEC-003, UP-008 (with connections.ErrorDetailsInNotice): an upstream error's `details` are kept for the
    asker's notice. Its `message` is left out, as by a team that knows the key can be in it; the details, where
    today's bodies repeat the key (ErrorInfo metadata, LocalizedMessage, DebugInfo), are not."""

    def on_error(self, exc: UpstreamHttpError) -> str | None:
        ERROR_DETAILS.set(json.dumps(_error_of(exc).get("details", [])))
        return None


def keeps_error_details(settings: Settings, base_url: str | None, api_key: str) -> AiClient:
    return KeepsErrorDetails(_genai(settings, base_url, api_key))


log = logging.getLogger(__name__)


class LogsErrorDetails(Wrapped):
    """SEC-003 and UP-008 on the log side: an upstream error is logged with the key masked in its message only;
    its details go to the log as they came (with the patch `no_log_redaction`: nothing masks them on the way)."""

    def __init__(self, inner: AiClient, api_key: str) -> None:
        super().__init__(inner)
        self.key = api_key

    def on_error(self, exc: UpstreamHttpError) -> str | None:
        error = _error_of(exc)
        message = str(error.get("message", "")).replace(self.key, "***")
        log.warning("upstream error %s: %s details=%s", exc.code, message, json.dumps(error.get("details")))
        return None


def logs_error_details(settings: Settings, base_url: str | None, api_key: str) -> AiClient:
    return LogsErrorDetails(_genai(settings, base_url, api_key), api_key)
