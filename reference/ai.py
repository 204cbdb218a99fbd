"""The upstream AI (Gemini) behind a small interface; the only module that imports google-genai.

`GenaiClient.stream()` turns one question into text pieces followed by one `AiEnd` (finish reason, block reason,
token usage). It builds the request exactly as SPEC.md §7 says (AI-007..AI-010): the configured system
instruction, the capped history in order with its roles, the question as the last `user` turn, and the configured
`maxOutputTokens`. The SDK's `APIError` is replaced by `UpstreamHttpError` (status, parsed body, no message), so
no SDK error text travels further; timeouts and the mapping to notices live in `relay.py` / `upstream_errors.py`.

Facts this relies on (gemini-wire-facts.md): the 3.x async stream is lazy (the request goes out, and 429 is
raised, on the first `__anext__`), so both the `await` and the iteration are inside the same guard; the SDK sends
the key only in the `x-goog-api-key` header (SEC-002); it does not retry unless asked.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from roomwire.reference.upstream_errors import UpstreamHttpError
from roomwire.spec.messages import HistoryItem


@dataclass(frozen=True, slots=True)
class AiRequest:
    """One question with the history to send along (already capped to `max_history_items`, AI-009)."""

    question: str
    history: Sequence[HistoryItem] = ()


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    output_tokens: int = 0  # candidates + thoughts: both are billed as output


@dataclass(frozen=True, slots=True)
class AiEnd:
    """The last item of every stream that did not raise."""

    finish_reason: str | None
    block_reason: str | None = None
    usage: Usage | None = None


AiItem = str | AiEnd


class AiStream(Protocol):
    """One answer as it comes: an async generator is one; so is `ai_worker`'s answer from another process."""

    def __aiter__(self) -> AsyncIterator[AiItem]: ...

    def __anext__(self) -> Awaitable[AiItem]: ...

    def aclose(self) -> Awaitable[None]: ...


class AiClient(Protocol):
    """What the server needs from upstream; replaceable through `create_app(ai_client_factory=...)`."""

    def stream(self, request: AiRequest) -> AiStream:
        """Non-empty text pieces in order, then one `AiEnd`; raises on failure (see `upstream_errors.classify`).

        Called in the loop turn that read the question; an implementation may send the request then (the AI
        worker does), or on the first `__anext__` (an async generator)."""
        ...

    async def aclose(self) -> None: ...


def _name(value: Any) -> str | None:
    """An SDK enum (or an unknown string the SDK kept as is) as its wire word."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _usage(metadata: Any) -> Usage | None:
    if metadata is None:
        return None
    output = (metadata.candidates_token_count or 0) + (metadata.thoughts_token_count or 0)
    return Usage(prompt_tokens=metadata.prompt_token_count or 0, output_tokens=output)


#: The async transports google-genai can use: aiohttp (its choice whenever aiohttp is installed and no httpx
#: transport is given), httpx2 (its default otherwise) and httpx. docs/benchmarks.md measures each.
TRANSPORTS = ("aiohttp", "httpx2", "httpx")
TRANSPORT = "aiohttp"
#: The environment that makes an HTTP client look for a proxy or credentials on every request.
_PER_REQUEST_ENV = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NETRC")


def http_options(base_url: str | None, transport: str = TRANSPORT) -> types.HttpOptions:
    """The SDK's HTTP options: where upstream is, which transport carries it, and no retries.

    `aiohttp` is the cheapest transport (docs/benchmarks.md: CPU per answer); `GenaiClient` gives it a session
    of its own (`aiohttp_session`). With aiohttp the SDK would retry a refused or reset connection once by itself
    after sleeping 1-10 s unless `retry_options` are given; one attempt keeps upstream failures prompt and visible
    (UP-001..UP-006), as with httpx, which never retries unasked. (SDKs before `HttpRetryOptions` get none.)

    Raises:
        ValueError: `transport` is none of `TRANSPORTS`.
    """
    options: dict[str, Any] = {}
    if "retry_options" in types.HttpOptions.model_fields:
        options["retry_options"] = types.HttpRetryOptions(attempts=1)
    if base_url:
        options["base_url"] = base_url
    if transport == "httpx2":
        import httpx2

        options["async_client_args"] = {"transport": httpx2.AsyncHTTPTransport()}
    elif transport == "httpx":
        import httpx

        options["async_client_args"] = {"transport": httpx.AsyncHTTPTransport()}
    elif transport != "aiohttp":
        raise ValueError(f"unknown transport {transport!r}; known: {', '.join(TRANSPORTS)}")
    return types.HttpOptions(**options)


def aiohttp_session(environ: Mapping[str, str] = os.environ) -> Any:
    """The aiohttp session the SDK would make, minus two thread hops per request: the SDK's session trusts the
    environment, so aiohttp looks up a proxy and a netrc entry in a worker thread for every request. Here that
    happens only when the environment names a proxy or a netrc file (read once, at start). None without aiohttp
    or with an SDK that takes no session; must run inside the event loop that will use it."""
    if "aiohttp_client" not in types.HttpOptions.model_fields:
        return None
    try:
        import aiohttp
    except ImportError:
        return None
    trust_env = any(environ.get(name) for name in _PER_REQUEST_ENV) or os.path.exists(os.path.expanduser("~/.netrc"))
    connector = aiohttp.TCPConnector(limit=0)  # as the SDK's own: no cap on concurrent answers
    return aiohttp.ClientSession(connector=connector, trust_env=trust_env, read_bufsize=2**22)


def sdk_client(api_key: str, base_url: str | None, transport: str = TRANSPORT) -> tuple[genai.Client, Any]:
    """The SDK client as the reference makes it (`http_options`, and on aiohttp a session of its own), and the
    session to close after it (None when the SDK makes its own); call it inside the event loop that will use it."""
    options = http_options(base_url, transport)
    session = aiohttp_session() if transport == "aiohttp" else None
    if session is not None:
        options = options.model_copy(update={"aiohttp_client": session})
    return genai.Client(api_key=api_key, vertexai=False, http_options=options), session


class GenaiClient:
    """`AiClient` over the real google-genai SDK, pointed at Google or at a Gemini double (`base_url`)."""

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        system_prompt: str,
        max_tokens: int,
        temperature: float = 0.8,
        base_url: str | None = None,
        transport: str = TRANSPORT,
    ) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"unknown transport {transport!r}; known: {', '.join(TRANSPORTS)}")
        self._api_key, self._base_url, self._transport = api_key, base_url, transport
        self._client: genai.Client | None = None
        self._session: Any = None
        self._model = model
        self._config = types.GenerateContentConfig(
            system_instruction=system_prompt,  # AI-008: only ever the configured text
            max_output_tokens=max_tokens,  # AI-010
            temperature=temperature,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),  # no tools: no AFC loop
        )

    @staticmethod
    def contents(request: AiRequest) -> list[types.ContentDict]:
        """AI-009: history items in order with their roles, then the question as the last `user` turn.

        Plain dicts, which the SDK takes as they are: building `types.Content`/`types.Part` models first costs
        0.45 ms of CPU per answer without history and 1.3-1.7 ms with three history items (measured interleaved,
        docs/benchmarks.md), for the same request bytes.
        """
        turns: list[types.ContentDict] = [
            {"role": item.role, "parts": [{"text": item.content}]} for item in request.history
        ]
        turns.append({"role": "user", "parts": [{"text": request.question}]})
        return turns

    def _sdk(self) -> genai.Client:
        """The SDK client, made on first use, inside the event loop (where an aiohttp session must be made)."""
        if self._client is None:
            self._client, self._session = sdk_client(self._api_key, self._base_url, self._transport)
        return self._client

    def stream(self, request: AiRequest) -> AsyncGenerator[AiItem, None]:
        return self.stream_contents(self.contents(request))

    async def stream_contents(self, contents: list[types.ContentDict]) -> AsyncGenerator[AiItem, None]:
        """`stream` for contents already built (the AI worker receives them so)."""
        try:
            response = await self._sdk().aio.models.generate_content_stream(
                model=self._model, contents=contents, config=self._config
            )
            end = AiEnd(finish_reason=None)
            try:
                async for chunk in response:
                    text = chunk_text(chunk)
                    if text:
                        yield text
                    end = _merge(end, chunk)
            finally:
                await _close(response)
            yield end
        except genai_errors.APIError as exc:  # UP-008: keep status and body, drop the text
            raise UpstreamHttpError(exc.code, exc.status, exc.details) from None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aio.aclose()
        if self._session is not None:
            await self._session.close()


async def _close(response: object) -> None:
    """Close the SDK's stream (and its HTTP response) when we stop early; it is an async generator in 3.x."""
    aclose = getattr(response, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(RuntimeError):  # "already running": it failed mid-iteration and is closing
            await aclose()


def chunk_text(chunk: types.GenerateContentResponse) -> str:
    """The chunk's answer text: its first candidate's text parts that are not thoughts, as the SDK's
    `GenerateContentResponse.text` joins them, without the `model_dump` of every part that property makes only to
    warn about non-text parts once per process (~30 µs a chunk, on the time-to-first-chunk path)."""
    if not chunk.candidates or chunk.candidates[0].content is None or not chunk.candidates[0].content.parts:
        return ""
    return "".join(part.text for part in chunk.candidates[0].content.parts if part.text and not part.thought)


def _merge(end: AiEnd, chunk: types.GenerateContentResponse) -> AiEnd:
    """Fold one chunk's finish reason, block reason and running usage into what is known so far."""
    finish = end.finish_reason
    if chunk.candidates:
        finish = _name(chunk.candidates[0].finish_reason) or finish
    block = end.block_reason
    if chunk.prompt_feedback is not None:
        block = _name(chunk.prompt_feedback.block_reason) or block
    usage = _usage(chunk.usage_metadata) or end.usage
    return AiEnd(finish_reason=finish, block_reason=block, usage=usage)
