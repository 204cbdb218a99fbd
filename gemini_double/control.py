"""Clients of the control API (`/_double/`): `AsyncDoubleControl` (asyncio) and `DoubleControl` (sync twin).

Both take the double's base URL (the same one the SDK gets), speak JSON over httpx, and return the API's JSON
as plain dicts. They build every call from one table (`_Calls`), so the two stay identical. A non-2xx answer
raises `DoubleControlError` with the API's message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self, cast

import httpx

from roomwire.spec.errors import HarnessError

Entry = dict[str, Any]
Predicate = Callable[[list[Entry]], bool]


class DoubleControlError(HarnessError):
    """The control API refused a call."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class _Calls:
    """(method, path, query, json) for each control call, and how to read the answer."""

    @staticmethod
    def fault(
        kind: str, count: int, model: str | None, match: str | None, params: Mapping[str, object]
    ) -> dict[str, object]:
        body: dict[str, object] = {"kind": kind, "count": count, **params}
        if model is not None:
            body["model"] = model
        if match is not None:
            body["match"] = match
        return body

    @staticmethod
    def decode(response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = {"error": {"message": response.text}}
        if response.status_code >= 300:
            error = data.get("error", {}) if isinstance(data, dict) else {}
            raise DoubleControlError(response.status_code, str(error.get("message", response.text)))
        return cast(dict[str, Any], data)


def _root(base_url: str) -> str:
    return base_url.rstrip("/") + "/_double/"


class AsyncDoubleControl:
    """Async client of the control API. Use `async with`, or call `aclose()`."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, client: httpx.AsyncClient | None = None) -> None:
        self._own = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout, trust_env=False)
        self._root = _root(base_url)

    async def _call(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None, json: object = None
    ) -> dict[str, Any]:
        response = await self._client.request(method, self._root + path, params=params, json=json)
        return _Calls.decode(response)

    async def health(self) -> dict[str, Any]:
        return await self._call("GET", "health")

    async def config(self) -> dict[str, Any]:
        """The current settings (valid keys only as fingerprints)."""
        return cast(dict[str, Any], (await self._call("GET", "config"))["config"])

    async def configure(self, **changes: object) -> dict[str, Any]:
        """Change settings, e.g. `configure(quota_rpm=None, latency="zero")`; returns the new settings."""
        return cast(dict[str, Any], (await self._call("POST", "config", json=changes))["config"])

    async def queue_fault(
        self, kind: str, count: int = 1, *, model: str | None = None, match: str | None = None, **params: object
    ) -> dict[str, Any]:
        """Queue `count` faults of `kind` (extra parameters: after_chunks, retry_delay_s, code, body, fixture...)."""
        body = _Calls.fault(kind, count, model, match, params)
        return cast(dict[str, Any], (await self._call("POST", "faults", json=body))["fault"])

    async def faults(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], (await self._call("GET", "faults"))["faults"])

    async def clear_faults(self) -> int:
        return cast(int, (await self._call("DELETE", "faults"))["dropped"])

    async def journal(self, match: str | None = None) -> list[Entry]:
        """Journal entries, oldest first; `match` keeps those whose last user turn contains it."""
        params = {"match": match} if match is not None else None
        return cast(list[Entry], (await self._call("GET", "journal", params=params))["entries"])

    async def wait_for(self, predicate: Predicate, *, match: str | None = None, within_s: float = 5.0) -> list[Entry]:
        """Poll the journal until `predicate(entries)` holds; returns those entries.

        Raises:
            TimeoutError: it did not hold within `within_s` seconds.
        """
        deadline = time.monotonic() + within_s
        while True:
            entries = await self.journal(match)
            if predicate(entries):
                return entries
            if time.monotonic() > deadline:
                raise TimeoutError(f"journal condition not met in {within_s} s; last entries: {entries[-3:]}")
            await asyncio.sleep(0.02)

    async def clear_journal(self) -> None:
        await self._call("DELETE", "journal")

    async def release(self, match: str) -> int:
        """Let the streams a `hold` fault holds for `match` go on; how many it released."""
        return cast(int, (await self._call("POST", "release", json={"match": match}))["released"])

    async def reset(self) -> None:
        """Clear faults, journal and quota counters (the config stays)."""
        await self._call("POST", "reset")

    async def aclose(self) -> None:
        if self._own:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class DoubleControl:
    """Sync client of the control API, the twin of `AsyncDoubleControl`. Use `with`, or call `close()`."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, client: httpx.Client | None = None) -> None:
        self._own = client is None
        self._client = client or httpx.Client(timeout=timeout, trust_env=False)
        self._root = _root(base_url)

    def _call(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None, json: object = None
    ) -> dict[str, Any]:
        return _Calls.decode(self._client.request(method, self._root + path, params=params, json=json))

    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def config(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._call("GET", "config")["config"])

    def configure(self, **changes: object) -> dict[str, Any]:
        return cast(dict[str, Any], self._call("POST", "config", json=changes)["config"])

    def queue_fault(
        self, kind: str, count: int = 1, *, model: str | None = None, match: str | None = None, **params: object
    ) -> dict[str, Any]:
        body = _Calls.fault(kind, count, model, match, params)
        return cast(dict[str, Any], self._call("POST", "faults", json=body)["fault"])

    def faults(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._call("GET", "faults")["faults"])

    def clear_faults(self) -> int:
        return cast(int, self._call("DELETE", "faults")["dropped"])

    def journal(self, match: str | None = None) -> list[Entry]:
        params = {"match": match} if match is not None else None
        return cast(list[Entry], self._call("GET", "journal", params=params)["entries"])

    def wait_for(self, predicate: Predicate, *, match: str | None = None, within_s: float = 5.0) -> list[Entry]:
        deadline = time.monotonic() + within_s
        while True:
            entries = self.journal(match)
            if predicate(entries):
                return entries
            if time.monotonic() > deadline:
                raise TimeoutError(f"journal condition not met in {within_s} s; last entries: {entries[-3:]}")
            time.sleep(0.02)

    def clear_journal(self) -> None:
        self._call("DELETE", "journal")

    def release(self, match: str) -> int:
        return cast(int, self._call("POST", "release", json={"match": match})["released"])

    def reset(self) -> None:
        self._call("POST", "reset")

    def close(self) -> None:
        if self._own:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
