"""The chat page and the HTTP headers it goes out with (SEC-009).

The page carries its Content-Security-Policy in a `<meta>` element too, so that it keeps its script pinned when
some other server serves the file; but a `<meta>` policy cannot say who may frame the page (`frame-ancestors` is
ignored there), and a foreign page that frames the chat can trick its user into clicking. So the reference sends
the page's own policy as a header, with `frame-ancestors`: `'self'` and the origins of `page_frame_ancestors` (the
game that embeds the chat), plus `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer` (the page's
URL holds the room and nickname). The header's policy is read from the page's `<meta>` when the app is created,
so the hashes `tests/browser/csp.py` pins are the header's too.

Every other response of the app gets `BASE_HEADERS`: nothing it sends is a page, none may be framed or sniffed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PAGE = Path(__file__).parent / "static" / "index.html"
_META_POLICY = re.compile(r'<meta http-equiv="Content-Security-Policy"\s+content="([^"]*)"')

BASE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def meta_policy(html: str) -> str:
    """The policy of the page's Content-Security-Policy `<meta>` element.

    Raises:
        ValueError: the page has none (the page's tests keep it).
    """
    match = _META_POLICY.search(html)
    if match is None:
        raise ValueError("the page has no Content-Security-Policy meta element")
    return match.group(1)


def frame_ancestors(origins: tuple[str, ...]) -> str:
    """`'none'` when told so, else `'self'` and the origins allowed to embed the page."""
    if origins == ("'none'",):
        return "'none'"
    return " ".join(["'self'", *origins])


def page_headers(html: str, origins: tuple[str, ...]) -> dict[str, str]:
    """SEC-009: the page's policy with `frame-ancestors`, nosniff and no referrer, as HTTP headers."""
    ancestors = frame_ancestors(origins)
    headers = {
        "Content-Security-Policy": f"{meta_policy(html)}; frame-ancestors {ancestors}",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    legacy = {"'self'": "SAMEORIGIN", "'none'": "DENY"}.get(ancestors)
    if legacy is not None:  # browsers without frame-ancestors; it cannot name other origins, so only then
        headers["X-Frame-Options"] = legacy
    return headers


@dataclass(frozen=True)
class Page:
    """The page's bytes and the headers they are served with."""

    body: bytes
    headers: dict[str, str]


def load_page(origins: tuple[str, ...], path: Path | None = None) -> Page | None:
    """The page at `path` (default `PAGE`, read when called) with its headers; None when there is no page (`/` is
    then 404)."""
    path = PAGE if path is None else path
    if not path.is_file():
        return None
    body = path.read_bytes()
    return Page(body, page_headers(body.decode("utf-8"), origins))
