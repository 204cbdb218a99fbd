"""The Gemini double as the suite sees it: queue faults, read the journal, over the double's control API.

Talks HTTP to `/_double/*` (see roomwire.gemini_double.admin), so a double anywhere (`--double URL`) works the
same as the bundled one. Faults are always queued with `match=<token>`, a token unique to the check that
also appears in its question, so checks running concurrently never take each other's faults. Journal
entries are read into `UpstreamCall`, the few facts checks judge: where the key was, its fingerprint, the
system instruction, the turns, the text the double streamed and when, and whether the target hung up early.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from roomwire.spec.errors import HarnessError

#: Upstream error *text*: phrases of the messages and details of Google's error bodies (the double copies them),
#: none of which a server says in its own words. No frame, close reason or log line may carry one (UP-008).
UPSTREAM_TEXT_PHRASES = (
    "exceeded your current quota",
    "Please retry in",
    "Learn more about Gemini API quotas",
    "ai.dev/rate-limit",
    "An internal error has occurred",
    "Internal error encountered",
    "The model is overloaded",
    "experiencing high demand",
    "API key not valid",
    "Invalid API key",
    "has been suspended",
    "type.googleapis.com/google.rpc",
)
#: What no frame may carry besides (UP-008): the API's host and Google's status and reason words. A log line may
#: name those (the reference logs "upstream HTTP 429 RESOURCE_EXHAUSTED"): they are enum words, not text.
UPSTREAM_ERROR_PHRASES = (
    *UPSTREAM_TEXT_PHRASES,
    "generativelanguage.googleapis.com",
    "RESOURCE_EXHAUSTED",
    "PERMISSION_DENIED",
    "API_KEY_INVALID",
    "CONSUMER_SUSPENDED",
)


def fingerprint(key: str) -> str:
    """The double's key fingerprint: the first 8 hex digits of SHA-256 (roomwire.gemini_double.keys)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]


def _text_of(node: object) -> str:
    """The text parts of a Content (or a plain string), joined."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict):
        parts = node.get("parts")
        if isinstance(parts, list):
            return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
        if "text" in node:
            return str(node["text"])
    return ""


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class UpstreamCall:
    """One journal entry, reduced to what checks judge."""

    key_location: str
    key_fingerprint: str | None
    system_text: str
    turns: tuple[tuple[str, str], ...]
    max_output_tokens: int | None
    last_user_text: str
    sent_text: str
    sent_chunks: tuple[str, ...]
    chunk_times_ms: tuple[float, ...]
    outcome: str | None
    disconnected: bool
    finished: bool
    path: str
    query: dict[str, str]
    hold_end: str | None = None  # a `hold` fault's: released, timeout or interrupted

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> UpstreamCall:
        key = _dict(entry.get("key"))
        contents = entry.get("contents")
        items = contents if isinstance(contents, list) else []
        turns = tuple((str(c.get("role", "")), _text_of(c)) for c in items if isinstance(c, dict))
        config = _dict(entry.get("generation_config"))
        max_tokens = config.get("maxOutputTokens", config.get("max_output_tokens"))
        query = _dict(entry.get("query"))
        return cls(
            key_location=str(key.get("location", "none")),
            key_fingerprint=key.get("fingerprint") if isinstance(key.get("fingerprint"), str) else None,
            system_text=_text_of(entry.get("system_instruction")),
            turns=turns,
            max_output_tokens=max_tokens if isinstance(max_tokens, int) else None,
            last_user_text=str(entry.get("last_user_text") or ""),
            sent_text=str(entry.get("sent_text") or ""),
            sent_chunks=tuple(str(c) for c in entry.get("sent_chunks") or () if isinstance(c, str)),
            chunk_times_ms=tuple(float(t) for t in entry.get("chunk_times_ms") or ()),
            outcome=entry.get("outcome") if isinstance(entry.get("outcome"), str) else None,
            disconnected=bool(entry.get("disconnected")),
            finished=entry.get("finished_ms") is not None,
            path=str(entry.get("path", "")),
            query={str(k): str(v) for k, v in query.items()},
            hold_end=entry.get("hold_end") if isinstance(entry.get("hold_end"), str) else None,
        )


class Upstream:
    """Control of one Gemini double at `base_url`.

    Every control call opens a connection of its own (no keep-alive pool). A pooled connection left idle may be
    closed by the double's server just as the next call is written on it (the server's keep-alive timeout and
    the client's pool expiry racing): httpx then reports "Server disconnected without sending a response" and a
    POST cannot safely be sent again, since the double may have queued the fault. A control call is a few per
    check on loopback; a fresh connection costs well under a millisecond there.
    """

    def __init__(self, base_url: str, *, within: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=within,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"connection": "close"},
        )

    async def _call(
        self, method: str, path: str, json: dict[str, Any] | None = None, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        try:
            response = await self._http.request(method, f"/_double/{path}", json=json, params=params)
        except httpx.HTTPError as exc:
            raise HarnessError(f"the Gemini double at {self.base_url} did not answer {method} {path}: {exc}") from exc
        if response.status_code >= 400:
            raise HarnessError(
                f"the Gemini double refused {method} {path}: {response.status_code} {response.text[:200]}"
            )
        data = response.json()
        return data if isinstance(data, dict) else {}

    async def health(self) -> None:
        await self._call("GET", "health")

    async def config(self) -> dict[str, Any]:
        config = (await self._call("GET", "config")).get("config")
        return config if isinstance(config, dict) else {}

    async def configure(self, **changes: Any) -> dict[str, Any]:
        return await self._call("POST", "config", changes)

    async def fault(self, kind: str, *, match: str, count: int = 1, **extra: Any) -> None:
        """Queue a fault for the requests whose question contains `match` (see the module docstring)."""
        await self._call("POST", "faults", {"kind": kind, "count": count, "match": match, **extra})

    async def release(self, match: str) -> int:
        """Let the answers a `hold` fault holds back for `match` go on; how many there were."""
        released = (await self._call("POST", "release", {"match": match})).get("released")
        return released if isinstance(released, int) else 0

    async def journal(self, match: str | None = None) -> list[UpstreamCall]:
        response = await self._call("GET", "journal", params=None if match is None else {"match": match})
        entries = response.get("entries")
        return [UpstreamCall.from_json(e) for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []

    async def wait_for_calls(
        self, match: str, within: float, until: Callable[[list[UpstreamCall]], bool] | None = None
    ) -> list[UpstreamCall]:
        """The journal's calls for `match`, polled until `until` holds (default: at least one, finished)."""
        ready = until or (lambda calls: bool(calls) and all(c.finished for c in calls))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            calls = await self.journal(match)
            if ready(calls) or loop.time() >= deadline:
                return calls
            await asyncio.sleep(0.05)

    async def aclose(self) -> None:
        await self._http.aclose()
