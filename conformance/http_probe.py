"""The target's plain HTTP side, fetched cheaply so that SEC-003 and SEC-005 can search it for the key.

What a browser or a curious visitor can get without a WebSocket: the page at `/`, the scripts and styles it
references on the same origin, `/healthz`, `/metrics`, a 404, and the chat path requested without the upgrade.
Bodies and headers are both searched (a key has leaked through `X-Debug` headers and `Set-Cookie` before).
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from roomwire.conformance.target import Endpoint

_ASSET = re.compile(r"""<(?:script[^>]*\bsrc|link[^>]*\bhref)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
MAX_ASSETS = 20
MAX_BODY = 2 * 1024 * 1024


@dataclass(frozen=True)
class Fetched:
    """One HTTP response, or why there was none."""

    url: str
    status: int | None
    headers: str
    body: str
    error: str = ""


async def fetch(client: httpx.AsyncClient, url: str) -> Fetched:
    try:
        response = await client.get(url)
    except httpx.HTTPError as exc:
        return Fetched(url, None, "", "", f"{type(exc).__name__}: {exc}")
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.multi_items())
    return Fetched(url, response.status_code, headers, response.content[:MAX_BODY].decode("utf-8", "replace"))


def http_client(verify: ssl.SSLContext | bool, timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=verify, timeout=timeout, trust_env=False, follow_redirects=False)


def page_assets(base: str, html: str) -> list[str]:
    """Same-origin scripts and stylesheets the page references."""
    origin = urlsplit(base).netloc
    found = []
    for ref in _ASSET.findall(html):
        url = urljoin(base + "/", ref)
        if urlsplit(url).netloc == origin and url not in found:
            found.append(url)
    return found[:MAX_ASSETS]


async def server_responses(client: httpx.AsyncClient, endpoint: Endpoint, room: str, missing: str) -> list[Fetched]:
    """The HTTP responses SEC-003 searches (the page is one of them; its scripts and styles are SEC-005's)."""
    base = endpoint.http_base
    paths = ["/", "/healthz", "/metrics", f"/{missing}", endpoint.path_for(room), "/api/v1"]
    return [await fetch(client, base + path) for path in paths]


async def page_and_assets(client: httpx.AsyncClient, endpoint: Endpoint) -> list[Fetched]:
    """The page at `/` and what it loads from the same origin (SEC-005)."""
    page = await fetch(client, endpoint.http_base + "/")
    fetched = [page]
    if page.status == 200:
        for url in page_assets(endpoint.http_base, page.body):
            fetched.append(await fetch(client, url))
    return fetched
