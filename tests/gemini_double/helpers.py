"""Helpers shared by the double's tests: the SDK client, its version quirks, streaming with errors guarded.

Written to run on the SDK we pin (3.x) and on the oldest one we support (1.13, tox env sdk-oldest): 1.x talks
`/v1beta/`, sends the request at `await` time rather than on the first `__anext__`, and uses httpx, not httpx2.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from google import genai
from google.genai import _api_client, models, types

from roomwire.gemini_double import FAKE_API_KEY

SDK_VERSION = tuple(int(part) for part in genai.__version__.split(".")[:2])
#: SDK 3.x defaults to /v1/, every 1.x and 2.x wheel to /v1beta/ (gemini-wire-facts.md §0.1).
EXPECTED_API_VERSION = "v1" if SDK_VERSION >= (3, 0) else "v1beta"
MODEL = "gemini-2.5-flash"
#: Newer SDKs raise on a `data: {"error": ...}` event; 1.13 yields it as a chunk without candidates.
SDK_RAISES_IN_STREAM_ERRORS = '{"error":' in inspect.getsource(_api_client.BaseApiClient.async_request_streamed)
#: 1.13 reads `responseId` only from Vertex responses, not from Gemini API ones.
SDK_READS_RESPONSE_ID = "responseId" in inspect.getsource(models._GenerateContentResponse_from_mldev)


def as_json(value: object) -> Any:
    """JSON read in a test: the boundary where `Any` is allowed (STYLE: parsed at once, by the assertions)."""
    return value


def transport_errors() -> tuple[type[BaseException], ...]:
    """`RemoteProtocolError` of whichever HTTP libraries the SDK may use (httpx2 in 3.x, httpx in 1.x)."""
    found: list[type[BaseException]] = []
    for name in ("httpx2", "httpx"):
        try:
            found.append(importlib.import_module(name).RemoteProtocolError)
        except ImportError:  # pragma: no cover - depends on the SDK version installed
            continue
    return tuple(found)


def timeout_errors() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = []
    for name in ("httpx2", "httpx"):
        try:
            found.append(importlib.import_module(name).TimeoutException)
        except ImportError:  # pragma: no cover - depends on the SDK version installed
            continue
    return tuple(found)


def make_client(base_url: str | None, *, key: str = FAKE_API_KEY, **http: Any) -> genai.Client:
    """A real SDK client for the double (base_url None: from GOOGLE_GEMINI_BASE_URL), on httpx.

    aiohttp is installed (the reference's transport, reference/ai.py), and the SDK then streams through an aiohttp
    session of its own, a subclass aiohttp warns about; these tests read the double through the SDK's httpx path,
    whose errors (`timeout_errors`) they name. The reference's tests cover the aiohttp path."""
    if (
        getattr(importlib.import_module("google.genai._api_client"), "has_aiohttp", False)
        and "async_client_args" not in http
    ):
        http["async_client_args"] = {"transport": _httpx_transport()}
    options = types.HttpOptions(base_url=base_url, **http) if base_url is not None or http else None
    return genai.Client(api_key=key, http_options=options)


def _httpx_transport() -> Any:
    """The async transport of the httpx the SDK would pick without aiohttp (httpx2 when installed)."""
    for name in ("httpx2", "httpx"):
        try:
            return importlib.import_module(name).AsyncHTTPTransport()
        except ImportError:  # pragma: no cover - depends on the SDK version installed
            continue
    raise ImportError("neither httpx2 nor httpx")  # pragma: no cover - the SDK needs one


async def close_client(client: genai.Client) -> None:
    """Close the SDK's HTTP clients (3.x has close/aclose; 1.x keeps httpx clients we close by hand)."""
    aclose = getattr(client.aio, "aclose", None)
    if aclose is not None:
        await aclose()
        client.close()
        return
    api: Any = client._api_client  # pragma: no cover - SDK 1.x only
    await api._async_httpx_client.aclose()  # pragma: no cover - SDK 1.x only
    api._httpx_client.close()  # pragma: no cover - SDK 1.x only


def close_sync_client(client: genai.Client) -> None:
    close = getattr(client, "close", None)
    if close is not None:
        close()
        return
    api: Any = client._api_client  # pragma: no cover - SDK 1.x only
    api._httpx_client.close()  # pragma: no cover - SDK 1.x only


async def stream(
    client: genai.Client, text: str | list[types.Content], *, model: str = MODEL, **config: Any
) -> list[types.GenerateContentResponse]:
    """All chunks of one streamed answer; both the `await` and the iteration happen inside (SDK 1.x vs 3.x)."""
    chunks: list[types.GenerateContentResponse] = []
    response = await client.aio.models.generate_content_stream(
        model=model, contents=text, config=types.GenerateContentConfig(**config) if config else None
    )
    async for chunk in response:
        chunks.append(chunk)
    return chunks


async def stream_until_error(
    client: genai.Client, text: str, **config: Any
) -> tuple[list[types.GenerateContentResponse], BaseException]:
    """The chunks received before the stream failed, and the exception it failed with."""
    chunks: list[types.GenerateContentResponse] = []
    try:
        response = await client.aio.models.generate_content_stream(
            model=MODEL, contents=text, config=types.GenerateContentConfig(**config) if config else None
        )
        async for chunk in response:
            chunks.append(chunk)
    except Exception as exc:
        return chunks, exc
    raise AssertionError(f"the stream did not fail; got {len(chunks)} chunks")


def texts(chunks: list[types.GenerateContentResponse]) -> list[str | None]:
    return [chunk.text for chunk in chunks]


def finish_reasons(chunks: list[types.GenerateContentResponse]) -> list[str | None]:
    reasons: list[str | None] = []
    for chunk in chunks:
        reason = chunk.candidates[0].finish_reason if chunk.candidates else None
        reasons.append(None if reason is None else str(getattr(reason, "value", reason)))
    return reasons
